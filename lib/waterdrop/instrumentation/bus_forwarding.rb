# frozen_string_literal: true

module WaterDrop
  module Instrumentation
    # What a {Monitor} built with a notifications bus adds: every event also goes to that
    # bus (ActiveSupport::Notifications, a karafka-core bus, a {Notifications}, anything with
    # `instrument(name, payload) { }`), under `<event>.<namespace>` when a namespace is given.
    #
    # Listeners may subscribe to such a bus at any time without the monitor hearing about it,
    # so the monitor reports every event as listened to: producers then always build the
    # events a bus may want (the produce fast path and the native delivery gate stay for
    # monitors without a bus). A {Notifications} bus says who listens, so it keeps the gate.
    # @api private
    module BusForwarding
      # @return [Object] the bus events are forwarded to
      attr_reader :notifications_bus

      # @return [String, nil] appended to event names sent to the bus
      attr_reader :namespace

      # @param bus [#instrument]
      # @param namespace [String, nil]
      # @return [void]
      def forward_to(bus, namespace)
        @notifications_bus = bus
        @namespace = namespace
        @bus_names = events.to_h { |event| [event, (namespace ? "#{event}.#{namespace}" : event).freeze] }.freeze
        @bus_tracks_listeners = bus.is_a?(Notifications) && namespace.nil?
        bus.on_change { changed } if @bus_tracks_listeners
        nil
      end

      # Publishes to this monitor's own listeners, then (inside) to the bus.
      # @param event_id [String]
      # @param payload [Hash]
      # @return [Object] the block's result
      def instrument(event_id, payload = {}, &block)
        name = @bus_names.fetch(event_id) { raise_unknown(event_id) }
        bus = @notifications_bus
        return super(event_id, payload) { bus.instrument(name, payload, &block) } if block

        super(event_id, payload)
        bus.instrument(name, payload)
      end

      # @param event_id [String]
      # @return [Boolean] true for a bus that does not tell who listens
      def listening?(event_id)
        return true unless @bus_tracks_listeners

        super || @notifications_bus.listening?(event_id)
      end
    end
  end
end
