# frozen_string_literal: true

# newsmirror's listing pages without a pagination gem: one page per month (/YYYY/MM/) and one per
# source label (/source/<slug>/, with /source/<slug>/YYYY/MM/ month pages), all newest first.
# Posts are grouped once here, in Ruby, so the listings stay linear in the number of posts.
# Local plugins run in `jekyll build`/`serve` (not in GitHub's legacy "safe" branch builds; the
# workflow in deploy/ builds with Jekyll itself and uploads the result). Without this plugin
# index.html falls back to a flat list of the newest posts.
require "digest"

module Newsmirror
  MONTH_TITLE = "%d 年 %d 月"

  # The newest-first order everywhere: date, then file name, both descending.
  def self.newest_first(posts)
    posts.sort_by { |post| [post.date, post.basename] }.reverse
  end

  # An ASCII path segment for a source label; labels with no ASCII letters get a digest.
  def self.slug_for(labels)
    plain = labels.to_h { |label| [label, label.downcase.gsub(/[^a-z0-9]+/, "-").gsub(/\A-+|-+\z/, "")] }
    counts = plain.values.tally
    plain.to_h do |label, slug|
      digest = Digest::MD5.hexdigest(label)[0, 8]
      [label, slug.empty? ? "s-#{digest}" : counts[slug] > 1 ? "#{slug}-#{digest}" : slug]
    end
  end

  # Listings group by the day on the clock the pages show (local_time_offset_hours, else UTC).
  def self.by_day(posts)
    posts.chunk_while { |a, b| a.data["shown_day"] == b.data["shown_day"] }.map do |list|
      { "day" => list.first.data["shown_day"], "posts" => list }
    end
  end

  # The time a page shows: local time when the config names an offset, else the site's (UTC).
  def self.stamp(site, posts)
    hours = site.config["local_time_offset_hours"]
    name = hours ? site.config["local_time_name"] || format("UTC%+d", hours) : "UTC"
    posts.each do |post|
      shown = hours ? post.date.getutc + hours * 3600 : post.date
      post.data["shown_day"] = shown.strftime("%Y-%m-%d")
      post.data["shown_time"] = shown.strftime("%H:%M")
      post.data["shown_zone"] = name
    end
  end

  # Month pages follow the shown clock too, so a month's day headings all belong to it.
  def self.months(posts, prefix)
    posts.chunk_while { |a, b| a.data["shown_day"][0, 7] == b.data["shown_day"][0, 7] }.map do |list|
      year, month = list.first.data["shown_day"].split("-").map(&:to_i)
      key = format("%04d/%02d", year, month)
      { "key" => key, "url" => "#{prefix}/#{key}/", "title" => format(MONTH_TITLE, year, month),
        "count" => list.size, "posts" => list }
    end
  end

  # A generated listing page (no file behind it).
  class ListingPage < Jekyll::PageWithoutAFile
    def initialize(site, dir, data)
      super(site, site.source, dir, "index.html")
      self.content = ""
      self.data = { "layout" => "listing" }.merge(data)
    end
  end

  class Generator < Jekyll::Generator
    safe true
    priority :low

    def generate(site)
      config = site.config["newsmirror"] || {}
      posts = Newsmirror.newest_first(site.posts.docs)
      Newsmirror.stamp(site, posts)
      months = Newsmirror.months(posts, "")
      months.each { |month| add(site, month["key"], month["title"], month["posts"], months: months) }

      labels = posts.flat_map { |post| Array(post.data["categories"]) }.uniq.sort
      slugs = Newsmirror.slug_for(labels)
      sources = labels.map do |label|
        list = posts.select { |post| Array(post.data["categories"]).include?(label) }
        prefix = "/source/#{slugs[label]}"
        own_months = Newsmirror.months(list, prefix)
        own_months.each do |month|
          add(site, month["url"], "#{label} · #{month['title']}", month["posts"], source: label,
              source_url: "#{prefix}/", months: own_months)
        end
        add(site, prefix, label, list.first(config.fetch("source_posts", 60)), source: label,
            source_url: "#{prefix}/", months: own_months, total: list.size)
        { "label" => label, "url" => "#{prefix}/", "count" => list.size }
      end
      source_of = sources.to_h { |source| [source["label"], source] }
      posts.each { |post| post.data["sources"] = Array(post.data["categories"]).map { |label| source_of[label] } }

      site.data["newsmirror"] = {
        "total" => posts.size,
        "latest" => Newsmirror.by_day(posts.first(config.fetch("home_posts", 60))),
        "months" => months.map { |month| month.except("posts") },
        "sources" => sources,
      }
    end

    private

    def add(site, dir, title, posts, months:, source: nil, source_url: nil, total: nil)
      site.pages << ListingPage.new(site, dir, {
        "title" => title, "days" => Newsmirror.by_day(posts), "count" => total || posts.size,
        "shown" => posts.size, "source" => source, "source_url" => source_url,
        "months" => months.map { |month| month.except("posts") },
      })
    end
  end
end
