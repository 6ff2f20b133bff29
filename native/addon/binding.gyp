{
  "targets": [
    {
      "target_name": "vigil_native",
      "sources": ["module.c", "errors.c", "tracer.c", "tracer_opts.c", "tracer_query.c", "consumer.c", "proc_connector.c", "misc.c", "notify.c"],
      "include_dirs": ["../../bpf"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
