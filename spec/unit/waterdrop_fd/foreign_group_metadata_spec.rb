# frozen_string_literal: true

require "spec_helper"
require "open3"
require "rbconfig"

# How ForeignGroupMetadata finds the consumer's librdkafka, and the errors when it cannot.
# Each case runs in its own Ruby process (what is loaded there is the point; bounded by
# `timeout`). Reading real metadata: spec/broker/foreign_group_metadata_spec.rb.
RSpec.describe WaterdropFd::ForeignGroupMetadata do
  def run_ruby(code)
    lib = File.expand_path("../../../lib", __dir__)
    out, err, status = Open3.capture3("timeout", "60", RbConfig.ruby, "-I", lib, "-e",
                                      "require 'waterdrop_fd'\n#{code}")
    expect(status.exitstatus).to eq(0), err
    out.strip
  end

  def error_of(call)
    run_ruby(<<~RUBY)
      begin
        #{call}
      rescue WaterDrop::Errors::TransactionalOffsetInvalidError => e
        puts e.message
      end
    RUBY
  end

  it "refuses when no other librdkafka is loaded, saying how to name it" do
    expect(error_of("WaterdropFd::ForeignGroupMetadata.read(0x1000)")).to eq(
      %({:consumer=>"cannot tell which librdkafka made the consumer's group metadata (none is loaded); set ) +
      %(WaterdropFd::ForeignGroupMetadata.library to its path"})
    )
  end

  it "refuses a library it cannot open, with the loader's reason" do
    message = error_of(<<~RUBY)
      WaterdropFd::ForeignGroupMetadata.library = "/nonexistent/librdkafka.so.1"
      WaterdropFd::ForeignGroupMetadata.read(0x1000)
    RUBY
    expect(message).to start_with('{:consumer=>"the consumer\'s librdkafka could not be used (/nonexistent/librdkafka.so.1: ')
    expect(message).to end_with(%(set WaterdropFd::ForeignGroupMetadata.library to its path"}))
  end

  it "finds the only other librdkafka mapped into the process" do
    expect(run_ruby(<<~RUBY)).to eq("/usr/lib/x86_64-linux-gnu/librdkafka.so.1")
      require "fiddle"
      Fiddle::Handle.new("/usr/lib/x86_64-linux-gnu/librdkafka.so.1")
      puts WaterdropFd::ForeignGroupMetadata.send(:locate_library)
    RUBY
  end

  it "refuses something that is not a pointer" do
    expect(error_of("WaterdropFd::ForeignGroupMetadata.read(Object.new)"))
      .to eq(%({:consumer=>"#consumer_group_metadata_pointer must return a pointer, got Object"}))
  end
end
