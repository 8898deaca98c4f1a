# frozen_string_literal: true

# `require "waterdrop"` (WaterDrop's README, Bundler's autorequire of a gem named
# `waterdrop`, Karafka's `lib/karafka.rb`) loads waterdrop_fd: the same `WaterDrop::Producer`
# API, with this gem's Rust core and FD poller. See waterdrop.gemspec for the gem that
# carries the name `waterdrop`.
require_relative "waterdrop_fd"
