"""newsmirror: mirror news articles into Jekyll posts, built on Scrapy."""

__version__ = "0.1.0"
