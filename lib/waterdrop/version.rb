# frozen_string_literal: true

# The WaterDrop-compatible API provided by waterdrop_fd.
module WaterDrop
  # The WaterDrop API version this gem implements.
  VERSION = "2.10.3"
end
