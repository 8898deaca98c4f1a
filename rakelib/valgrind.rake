# frozen_string_literal: true

# rake valgrind: runs valgrind/produce_close.rb under memcheck. Fails on any invalid read,
# write or free whose stack includes the gem's code (waterdrop_fd frames), and on
# uninitialised-value use that happens *in* the gem's code (its top frame). Debian's Ruby is
# not built for valgrind, so its GC reads uninitialised heap words everywhere, including
# while marking objects the gem hands it; those are counted and printed, not failed on.
desc "Run a focused produce/close workload under valgrind memcheck"
task :valgrind do
  require "open3"
  root = File.expand_path("..", __dir__)
  log = File.join(root, "tmp", "valgrind.log")
  FileUtils.mkdir_p(File.dirname(log))
  cmd = [
    "valgrind", "--tool=memcheck", "--error-exitcode=99", "--suppressions=valgrind/ruby.supp",
    "--gen-suppressions=no", "--num-callers=30", "--log-file=#{log}",
    RbConfig.ruby, "-Ilib", "valgrind/produce_close.rb"
  ]
  puts cmd.join(" ")
  ok = Dir.chdir(root) { system(*cmd) }
  text = File.read(log)
  summary = text[/ERROR SUMMARY:.*$/]
  puts summary
  # Errors are blocks opened by "==pid== <Kind>" and closed by a blank "==pid==" line.
  blocks = text.split(/^==\d+==\s*$/)
  invalid = blocks.select { |b| b =~ /Invalid (read|write|free)|Mismatched free/ }
  uninit = blocks.select { |b| b =~ /uninitialised value|depends on uninitialised/ }
  top_frame = ->(b) { b[/^==\d+==\s+at 0x\h+: .*$/].to_s }
  ours = invalid.select { |b| b.include?("waterdrop_fd") } +
         uninit.select { |b| top_frame.call(b).include?("waterdrop_fd") }
  through = uninit.count { |b| b.include?("waterdrop_fd") }
  puts "invalid reads/writes/frees: #{invalid.size}; uninitialised-value uses: #{uninit.size} " \
       "(#{through} with a waterdrop_fd frame below Ruby's code); in waterdrop_fd code: #{ours.size} " \
       "(full log: #{log})"
  ours.first(5).each { |b| puts b }
  abort "valgrind: #{ours.size} memory error(s) in waterdrop_fd code" unless ours.empty?
  warn "valgrind: the workload itself failed (exit #{$?.exitstatus})" unless ok || $?.exitstatus == 99
  abort "valgrind workload failed" unless ok || $?.exitstatus == 99
end
