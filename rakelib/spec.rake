# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

desc "Run the whole RSpec suite (builds the extension first)"
task spec: :compile do
  sh(*wfd.gem_exe("rspec-core", "rspec"), chdir: wfd::ROOT)
end

# One task per spec/ subdirectory that holds specs: spec:unit, spec:integration, ...
namespace :spec do
  Dir.glob("*/", base: File.join(wfd::ROOT, "spec")).sort.each do |subdir|
    name = subdir.chomp("/")
    next if Dir.glob("**/*_spec.rb", base: File.join(wfd::ROOT, "spec", name)).empty?

    desc "Run the specs in spec/#{name}"
    task name => :compile do
      sh(*wfd.gem_exe("rspec-core", "rspec"), "spec/#{name}", chdir: wfd::ROOT)
    end
  end
end
