# frozen_string_literal: true

require "spec_helper"
require "open3"

# The extension links librdkafka (and curl, zstd, lz4) statically. Ruby loads extensions
# with RTLD_GLOBAL, so any rd_kafka_* (or library) symbol it exported could interpose on
# another librdkafka in the process (karafka-rdkafka's, under Karafka) or be interposed by
# it: two builds would call into each other's structs. Only the Ruby entry points may be
# exported (spec/broker/two_librdkafkas_spec.rb runs both libraries at once).
RSpec.describe "Symbols the extension exports" do
  it "exports only Init_waterdrop_fd and ruby_abi_version" do
    so = File.expand_path("../../../lib/waterdrop_fd/waterdrop_fd.so", __dir__)
    out, err, status = Open3.capture3("nm", "-D", "--defined-only", so)
    expect(status).to be_success, err
    exported = out.lines.map { |l| l.split.last }.sort
    expect(exported).to eq(%w[Init_waterdrop_fd ruby_abi_version])
  end
end
