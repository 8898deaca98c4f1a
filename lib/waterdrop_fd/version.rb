# frozen_string_literal: true

module WaterdropFd
  # The gem's version, following Semantic Versioning.
  # @return [String]
  VERSION = "0.1.0"
end
