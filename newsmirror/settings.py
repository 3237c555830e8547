"""Scrapy settings for newsmirror.  ``ITEM_PIPELINES`` order is the data flow:

    Page --skip (same input as an intact post?)--> --extract--> Article --clean-->
         --dedupe (which file?)--> --write (atomic) + remember-->

Everything here can be overridden per run (``newsmirror ... -s NAME=VALUE`` or ``scrapy -s``).
"""

from scrapy.settings import default_settings as _defaults

from newsmirror import __version__

BOT_NAME = "newsmirror"
SPIDER_MODULES = ["newsmirror.spiders"]
NEWSPIDER_MODULE = "newsmirror.spiders"

ITEM_PIPELINES = {
    "newsmirror.pipelines.SkipUnchangedPipeline": 50,
    "newsmirror.pipelines.ExtractPipeline": 100,
    "newsmirror.pipelines.CleanPipeline": 200,
    "newsmirror.pipelines.images.ImagesToSitePipeline": 250,  # --download-images: figures into the site
    "newsmirror.pipelines.DedupePipeline": 300,
    "newsmirror.pipelines.WritePipeline": 400,
}
EXTENSIONS = {"newsmirror.scrapy_parts.report.ReportExtension": 0}
# RemoteControl is an HTTP server running Python code, on a port nobody asked for (and a traceback
# without a writable HOME): never on unless a user turns it on.  It is left out of the base list
# rather than set to None in EXTENSIONS, which would import it (and aiohttp: 70 ms of start-up).
# The report extension is Scrapy's CoreStats as well, in its place: one receiver per item signal.
EXTENSIONS_BASE = {
    ("newsmirror.scrapy_parts.report.ReportExtension" if k.endswith(".CoreStats") else k): v
    for k, v in _defaults.EXTENSIONS_BASE.items()
    if not k.endswith(".RemoteControl")
}
REMOTE_CONTROL_ENABLED = False
DOWNLOADER_MIDDLEWARES = {
    # exponential backoff + Retry-After instead of immediate retries
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "newsmirror.scrapy_parts.retry.BackoffRetryMiddleware": 550,
    # the same, without decoding every page just to rule out a <meta> refresh (~0.4 ms a page)
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "newsmirror.scrapy_parts.metarefresh.QuickMetaRefreshMiddleware": 580,
    # no spider of ours has allowed_domains (a source's allow_domains is applied where articles
    # are announced, spiders/discover.py), so Scrapy's offsite check passes every request
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
}
# Layers every request and every callback output passes through on the one reactor thread, for
# nothing here: request depth (no DEPTH_LIMIT or DEPTH_PRIORITY: only a stat and meta["depth"],
# which nothing reads) and a warning for spiders that copy response.meta (ours never do).
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
# Scrapy's per-request byte and status counters (stats only; the run report counts outcomes)
DOWNLOADER_STATS = False

# Manners: identify ourselves, obey robots.txt, adapt the pace to the server, retry with backoff.
USER_AGENT = f"newsmirror/{__version__} (+news mirroring bot built on Scrapy)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
# Scrapy runs this many tasks for *every* response's output (default 100); an article response
# yields one page, a feed at most a few dozen: 100 tasks per page cost ~0.4 ms of the one
# reactor thread (bench/README.md)
CONCURRENT_ITEMS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 30
NEWSMIRROR_RETRY_BACKOFF = 1.0  # seconds before the first retry; doubled for each next one
NEWSMIRROR_RETRY_BACKOFF_MAX = 60.0  # cap, also for a server's Retry-After
# A news page is well under 1 MB (the biggest CNA page seen is ~300 KB); Scrapy's 1 GiB default
# lets a 1 MB gzip bomb cost a gigabyte of memory.  Bigger responses are cancelled and reported.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024

# Keep what a crawl downloads, for offline reprocessing (`newsmirror crawl --cache`).
HTTPCACHE_ENABLED = False
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"
# an archive: always fetch, always store (newsmirror/scrapy_parts/httpcache.py)
HTTPCACHE_POLICY = "newsmirror.scrapy_parts.httpcache.StoreOnlyPolicy"
HTTPCACHE_IGNORE_HTTP_CODES = [301, 302, 303, 307, 308, 404, 500, 502, 503, 504]

FEED_EXPORT_ENCODING = "utf-8"
# the run report prints each dropped or failed page as one line; Scrapy's own lines go to DEBUG
LOG_FORMATTER = "newsmirror.scrapy_parts.logformatter.QuietDropLogFormatter"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False

# newsmirror's own settings
NEWSMIRROR_OUTPUT = "output"  # posts go to OUTPUT/_posts/
NEWSMIRROR_LABEL = None  # override the source label (author/tags/categories)
NEWSMIRROR_FILENAME = "id"  # "id": YYYY-MM-DD-cna-<id>.md ; "title": the replaced system's style
NEWSMIRROR_BODY = "html"  # "html" (the sample's <div> block) or "markdown"
NEWSMIRROR_STATE = None  # seen-store path; default OUTPUT/.newsmirror/state.sqlite
NEWSMIRROR_DRY_RUN = False
NEWSMIRROR_DIFF = False
NEWSMIRROR_WARC = None  # write every response to this .warc.gz
NEWSMIRROR_PARSE_IN_THREAD = True  # parse pages off the event loop (see pipelines/extract.py)
NEWSMIRROR_WRITE_BATCH = 64  # posts made durable together (pipelines/write.py); 1: one by one
NEWSMIRROR_JOBS = 0  # extraction processes (--jobs); 0: the CPU count, 1: no process pool
NEWSMIRROR_EXCLUSIVE = False  # set by the CLI while it holds the run lock
NEWSMIRROR_DOWNLOAD_IMAGES = False  # store every body image in OUTPUT/assets/img/ (--download-images)
MEDIA_ALLOW_REDIRECTS = True  # image CDNs redirect; the final image is what the post needs
