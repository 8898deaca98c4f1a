# frozen_string_literal: true

module Rdkafka
  unless const_defined?(:Producer, false)
    # Namespace of rdkafka-ruby's producer classes (defined by `waterdrop_fd/rdkafka_compat`;
    # producing goes through WaterDrop::Producer).
    class Producer; end
  end
end
