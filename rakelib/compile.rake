# frozen_string_literal: true

require_relative "support"

wfd = WaterdropFdTasks

desc "Build the Rust extension with cargo and copy it to lib/waterdrop_fd/ " \
     "(WATERDROP_FD_PROFILE=dev for a debug build)"
task :compile do
  wfd.ensure_cargo_on_path!
  profile = wfd.cargo_profile
  # Always run cargo: it is incremental and knows best whether anything changed.
  wfd.timed("cargo build --profile #{profile}") do
    sh "cargo", "build", "--profile", profile, "-p", wfd::CRATE, chdir: wfd::ROOT
  end

  built = File.join(wfd.target_dir, wfd.profile_dir(profile), wfd.cdylib_name)
  dest = wfd::EXT_DEST
  abort "cargo did not produce #{built}" unless File.file?(built)

  if File.file?(dest) && FileUtils.identical?(built, dest)
    puts "==> #{dest} is up to date"
  else
    # Copy then rename: overwriting a shared object in place would crash any
    # process that has it mapped right now.
    tmp = "#{dest}.#{Process.pid}.tmp"
    FileUtils.mkdir_p(File.dirname(dest))
    FileUtils.cp(built, tmp)
    File.rename(tmp, dest)
    puts "==> copied #{built} -> #{dest}"
  end
end
