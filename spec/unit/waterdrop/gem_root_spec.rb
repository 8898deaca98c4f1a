# frozen_string_literal: true

require "spec_helper"

RSpec.describe "WaterDrop.gem_root" do
  it "is the gem's root directory, as a Pathname" do
    expect(WaterDrop.gem_root).to eq(Pathname.new(File.expand_path("../../..", __dir__)))
    expect(WaterDrop.gem_root.join("lib", "waterdrop.rb")).to be_file
    expect(WaterDrop.gem_root.join("lib", "waterdrop", "producer.rb")).to be_file
  end
end
