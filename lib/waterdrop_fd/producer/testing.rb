# frozen_string_literal: true

# The gem-namespaced path of {WaterDrop::Producer::Testing}.
require "waterdrop/producer/testing"
