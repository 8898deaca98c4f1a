# frozen_string_literal: true

require "pathname"

module WaterDrop
  class << self
    # The root directory of the installed gem (where `lib/` lives), as WaterDrop provides it.
    # @return [Pathname]
    def gem_root
      @gem_root ||= Pathname.new(File.expand_path("../..", __dir__))
    end
  end
end
