# frozen_string_literal: true

module WaterdropFd
  # The gem's version, following Semantic Versioning.
  # @return [String]
  VERSION = "0.1.0"

  # The `n` of the `waterdrop` gem's version `<WaterDrop API version>.fd.<n>` (see
  # waterdrop.gemspec): bump it for every release of the gem under that name.
  # @return [Integer]
  WATERDROP_GEM_RELEASE = 1
end
