# frozen_string_literal: true

# Loads the compiled extension. A precompiled gem would ship one build per Ruby ABI under
# `waterdrop_fd/<major.minor>/`; a source build puts it at `waterdrop_fd/waterdrop_fd`.
begin
  require "waterdrop_fd/#{RUBY_VERSION[/\d+\.\d+/]}/waterdrop_fd"
rescue LoadError
  require "waterdrop_fd/waterdrop_fd"
end
