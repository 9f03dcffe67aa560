//! The C ABI as a C or C++ user meets it: install the CMake package (with the libraries this
//! `cargo test` just built) into a temporary prefix, move the prefix (the package must be
//! relocatable), build tests/capi through `find_package` (a C test program linked to the shared
//! and to the static library, and the C++ examples), run them with ctest (ffmpeg_score on each
//! video of tests/videos/make.sh, the encoder loop on one), then build and run the C test once more through pkg-config
//! (vsrqa.pc, shared, and vsrqa-static.pc). The package installs the `vsrqa` tool too.
//!
//! Needs cmake, ctest, pkg-config, a C/C++ compiler, valgrind, the ffmpeg CLI and the FFmpeg
//! development packages (scripts/install-deps.sh). Their absence is a failure, not a skip: this is
//! the only test of the installed package. The static C test and the C++ player example also run
//! under valgrind memcheck.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where this `cargo test` put the C libraries, libvsrqa_capi.so and libvsrqa_capi.a (the crate
/// vsrqa-capi, a dev-dependency; the package installs them as libvsrqa): target/<profile>/deps,
/// next to this test binary (target/<profile>/deps/capi_package-<hash>). Building the tests builds
/// that lib with all its crate types (rlib, cdylib, staticlib) there, but cargo copies
/// ("uplifts") the libraries up to target/<profile> only on `cargo build`, so the copies up there
/// may predate the sources under test.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("target/<profile>/deps/<test>").to_path_buf();
    for lib in ["libvsrqa_capi.so", "libvsrqa_capi.a"] {
        assert!(
            dir.join(lib).is_file(),
            "{} is missing: cargo builds it with the tests (vsrqa-capi's crate types include cdylib and staticlib)",
            dir.join(lib).display()
        );
    }
    dir
}

/// Runs a command to completion and returns its stdout; any failure (cannot start, non-zero
/// exit) fails the test with the command's output.
fn run(what: &str, command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| {
        panic!("{what}: cannot run {command:?}: {e}\n(cmake, ctest, pkg-config and cc are required: scripts/install-deps.sh)")
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}): {command:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// The `vsrqa` tool `cargo test --workspace` built for the CLI's own tests (target/<profile>/vsrqa),
/// which the package installs into bin/.
fn cli_binary() -> PathBuf {
    let tool = library_dir().parent().expect("target/<profile>").join("vsrqa");
    assert!(
        tool.is_file(),
        "{} is missing: cargo test --workspace builds it (or cargo build -p vsrqa-cli; scripts/test.sh does both)",
        tool.display()
    );
    tool
}

/// Installs the CMake package from the libraries this `cargo test` built (no second cargo build)
/// into `temp`, with the `vsrqa` tool when `with_cli`, checks what was installed and that it names
/// no build path, and moves the prefix (the package must be relocatable). Returns the moved prefix.
fn install_package(temp: &std::path::Path, with_cli: bool) -> PathBuf {
    let build = temp.join("build");
    let prefix = temp.join("prefix");
    let lib_dir = library_dir();
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(repo())
        .arg("-B")
        .arg(&build)
        .arg(format!("-DVSRQA_PREBUILT_LIB_DIR={}", lib_dir.display()))
        .arg(format!("-DCMAKE_INSTALL_PREFIX={}", prefix.display()))
        // GNUInstallDirs would pick lib64 on some distributions; the checks below use lib.
        .arg("-DCMAKE_INSTALL_LIBDIR=lib");
    if with_cli {
        configure.arg("-DVSRQA_INSTALL_CLI=ON").arg(format!("-DVSRQA_PREBUILT_CLI={}", cli_binary().display()));
    } else {
        configure.arg("-DVSRQA_INSTALL_CLI=OFF");
    }
    run("cmake configure (package)", &mut configure);
    run("cmake build (package)", Command::new("cmake").arg("--build").arg(&build));
    run("cmake install", Command::new("cmake").arg("--install").arg(&build));
    let versioned = format!("lib/libvsrqa.so.{}", env!("CARGO_PKG_VERSION"));
    for installed in [
        "include/vsrqa.h",
        "include/vsrqa.hpp",
        "lib/libvsrqa.so",
        "lib/libvsrqa.so.1",
        versioned.as_str(),
        "lib/libvsrqa.a",
        "lib/cmake/vsrqa/vsrqaConfig.cmake",
        "lib/cmake/vsrqa/vsrqaConfigVersion.cmake",
        "lib/pkgconfig/vsrqa.pc",
        "lib/pkgconfig/vsrqa-static.pc",
        "share/vsrqa/valgrind.supp",
    ] {
        assert!(prefix.join(installed).exists(), "{installed} was not installed");
    }
    assert_eq!(prefix.join("bin/vsrqa").is_file(), with_cli, "bin/vsrqa installed: expected {with_cli}");
    for header in ["include/vsrqa.h", "include/vsrqa.hpp"] {
        assert_eq!(
            std::fs::read(prefix.join(header)).unwrap(),
            std::fs::read(repo().join(header)).unwrap(),
            "the installed {header} differs from the repository's"
        );
    }
    // Relocatable: no installed text file may name the build tree, the install prefix or the
    // prebuilt library directory.
    for text in [
        "lib/cmake/vsrqa/vsrqaConfig.cmake",
        "lib/cmake/vsrqa/vsrqaConfigVersion.cmake",
        "lib/pkgconfig/vsrqa.pc",
        "lib/pkgconfig/vsrqa-static.pc",
    ] {
        let content = std::fs::read_to_string(prefix.join(text)).unwrap();
        for path in [temp, lib_dir.as_path(), repo().as_path()] {
            let path = path.to_str().unwrap();
            assert!(!content.contains(path), "{text} embeds the path {path}:\n{content}");
        }
    }
    // The C++ runtime is among the static library's system libraries exactly when the library
    // holds the TensorRT facade (C++).
    let facade = cfg!(any(feature = "tensorrt-rtx", feature = "tensorrt"));
    let config = std::fs::read_to_string(prefix.join("lib/cmake/vsrqa/vsrqaConfig.cmake")).unwrap();
    let static_pc = std::fs::read_to_string(prefix.join("lib/pkgconfig/vsrqa-static.pc")).unwrap();
    assert_eq!(config.contains("stdc++"), facade, "{config}");
    assert_eq!(static_pc.contains("-lstdc++"), facade, "{static_pc}");
    // The shared library's users need none of the static library's system libraries.
    let shared_pc = std::fs::read_to_string(prefix.join("lib/pkgconfig/vsrqa.pc")).unwrap();
    assert!(!shared_pc.contains("-lpthread"), "{shared_pc}");

    // Move the prefix before anyone uses it.
    let moved = temp.join("moved-prefix");
    std::fs::rename(&prefix, &moved).unwrap();
    moved
}

/// Configures and builds tests/capi (the C test and the C++ examples) in `build` against the
/// package installed at `prefix`, with `options` for cmake.
fn build_capi_tests(build: &std::path::Path, prefix: &std::path::Path, options: &[&str]) {
    run(
        "cmake configure (tests/capi)",
        Command::new("cmake")
            .arg("-S")
            .arg(repo().join("tests/capi"))
            .arg("-B")
            .arg(build)
            .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
            .args(options),
    );
    run("cmake build (tests/capi)", Command::new("cmake").arg("--build").arg(build));
}

#[test]
fn c_abi_through_installed_cmake_and_pkg_config_package() {
    let temp = tempfile::tempdir().unwrap();
    let tests_build = temp.path().join("capi-build");
    let moved = install_package(temp.path(), true);

    // The tool runs from the moved prefix (it links vsrqa statically and needs only the system's
    // FFmpeg).
    let version = run("bin/vsrqa --version", Command::new(moved.join("bin/vsrqa")).arg("--version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");

    // The test videos for ffmpeg_score (tests/videos/make.sh: idempotent, needs the ffmpeg CLI).
    let videos = repo().join("target/test-videos");
    run("tests/videos/make.sh", Command::new("bash").arg(repo().join("tests/videos/make.sh")).arg(&videos));

    // CMake consumers: the C test against both libraries, and the C++ examples, under ctest.
    // VSRQA_EXAMPLES_FFMPEG=ON: without the FFmpeg development packages the configure fails
    // rather than dropping ffmpeg_score and its tests.
    build_capi_tests(
        &tests_build,
        &moved,
        &[
            &format!("-DVSRQA_TEST_VIDEOS={}", videos.display()),
            "-DVSRQA_EXAMPLES_FFMPEG=ON",
            "-DVSRQA_TEST_VALGRIND=ON",
        ],
    );
    // In parallel: memcheck runs a program on one core, so the other tests fit beside it (the
    // valgrind tests start first: their COST in tests/capi/CMakeLists.txt).
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get()).to_string();
    let ctest =
        run("ctest", Command::new("ctest").args(["--output-on-failure", "-j", &jobs]).current_dir(&tests_build));
    assert!(ctest.contains("100% tests passed"), "{ctest}");
    // capi_shared, capi_static, capi_valgrind, client_0_4_shared, client_0_4_static, hpp_test,
    // example_player_score, example_player_valgrind, crf_search, ffmpeg_score on each of the 11
    // videos, and example_encoder_loop.
    assert!(
        ctest.contains("out of 21"),
        "expected the C tests (shared, static, valgrind), the 0.4 client (shared, static), the C++ wrapper, the \
         player (and under valgrind), the CRF search, 11 ffmpeg_score tests and the encoder loop:\n{ctest}"
    );

    // pkg-config consumers: the same C test, compiled with its flags, against the shared library.
    let pc_path = moved.join("lib/pkgconfig");
    let flags = run(
        "pkg-config",
        Command::new("pkg-config").args(["--cflags", "--libs", "vsrqa"]).env("PKG_CONFIG_PATH", &pc_path),
    );
    assert!(flags.contains("-lvsrqa"), "pkg-config --libs: {flags}");
    let version = run(
        "pkg-config --modversion",
        Command::new("pkg-config").args(["--modversion", "vsrqa"]).env("PKG_CONFIG_PATH", &pc_path),
    );
    assert_eq!(version.trim(), env!("CARGO_PKG_VERSION"));
    let exe = compile_capi_test(
        &temp.path().join("capi_test_pkgconfig"),
        &flags,
        &[&format!("-Wl,-rpath,{}", moved.join("lib").display())],
    );
    run_capi_test(&exe, "capi_test built with pkg-config");

    // The C++ wrapper as pkg-config users include it (-I, not CMake's -isystem, which hides the
    // header's warnings), with strict warnings as errors in C++17 and C++20.
    for standard in ["c++17", "c++20"] {
        let hpp_exe = temp.path().join(format!("hpp_test_pkgconfig_{standard}"));
        run(
            &format!("c++ -std={standard} with pkg-config flags {flags}"),
            Command::new("c++")
                .arg(format!("-std={standard}"))
                .args(["-Wall", "-Wextra", "-pedantic", "-Werror", "-Wundef", "-Wshadow", "-Wconversion"])
                .arg(repo().join("tests/capi/hpp_test.cpp"))
                .arg("-o")
                .arg(&hpp_exe)
                .args(flags.split_whitespace())
                .arg(format!("-Wl,-rpath,{}", moved.join("lib").display())),
        );
        run(&format!("hpp_test ({standard})"), Command::new(&hpp_exe).arg(repo().join("tests/data/tiny_bundle")));
    }

    // And through vsrqa-static.pc, against the static library: the program needs no libvsrqa.so.
    let static_flags = run(
        "pkg-config vsrqa-static",
        Command::new("pkg-config").args(["--cflags", "--libs", "vsrqa-static"]).env("PKG_CONFIG_PATH", &pc_path),
    );
    assert!(static_flags.contains("libvsrqa.a"), "pkg-config --libs vsrqa-static: {static_flags}");
    let static_exe = compile_capi_test(&temp.path().join("capi_test_pkgconfig_static"), &static_flags, &[]);
    let dynamic = run("readelf -d", Command::new("readelf").arg("-d").arg(&static_exe));
    assert!(!dynamic.contains("libvsrqa"), "the static link still needs libvsrqa.so:\n{dynamic}");
    run_capi_test(&static_exe, "capi_test built with vsrqa-static");

    // A fully static program (cc -static): no shared library at all, not even libc's. The flags
    // must not name a library that has no static form (libgcc_s).
    let fully_static_exe = compile_capi_test(&temp.path().join("capi_test_fully_static"), &static_flags, &["-static"]);
    let dynamic = run("readelf -d", Command::new("readelf").arg("-d").arg(&fully_static_exe));
    assert!(dynamic.contains("There is no dynamic section"), "cc -static made a dynamic program:\n{dynamic}");
    // With ONNX Runtime in reach (scripts/test.sh sets ORT_DYLIB_PATH): a static program cannot
    // load it (docs/c-api.md), so the C test's `auto` engine must fall back to the cpu backend
    // rather than crash in the loader.
    assert!(std::env::var_os("ORT_DYLIB_PATH").is_some(), "ORT_DYLIB_PATH: run scripts/test.sh");
    run_capi_test(&fully_static_exe, "capi_test built with cc -static");
}

/// tests/capi/capi_test.c compiled into `exe` with pkg-config's `flags` (and `extra` ones).
fn compile_capi_test(exe: &std::path::Path, flags: &str, extra: &[&str]) -> PathBuf {
    run(
        &format!("cc with pkg-config flags {flags}"),
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
            .arg(repo().join("tests/capi/capi_test.c"))
            .arg("-o")
            .arg(exe)
            .args(flags.split_whitespace())
            .args(extra)
            .arg("-lm"),
    );
    exe.to_path_buf()
}

/// Runs a compiled C test on the tiny bundle, the sample clip and the tiny ensemble: every check
/// passes.
fn run_capi_test(exe: &std::path::Path, what: &str) {
    let report = run(
        what,
        Command::new(exe)
            .arg(repo().join("tests/data/tiny_bundle"))
            .arg(repo().join("tests/data/sample.y4m"))
            .arg("--ensemble")
            .arg(repo().join("tests/data/tiny_ensemble")),
    );
    assert!(report.contains(" 0 failures"), "{report}");
}

/// The library's C ABI against the committed 1.0 baseline (abi/vsrqa-1.abi) with libabigail's
/// abidiff, through scripts/abi-check.py: only `vsrqa_*` symbols exported (nm -D), nothing removed
/// or changed, only functions and appended struct fields added. The script's self-test first
/// checks that it passes the 0.4 header's ABI as compatible and fails a changed field.
#[test]
fn c_abi_is_compatible_with_the_1_0_baseline() {
    let library = library_dir().join("libvsrqa_capi.so");
    let report = run(
        "scripts/abi-check.py",
        Command::new("python3").arg(repo().join("scripts/abi-check.py")).arg(&library).arg("--self-test"),
    );
    assert!(report.contains("compatible with abi/vsrqa-1.abi"), "{report}");
}

/// With the TensorRT runner in the library (its facade is C++): C programs link the installed
/// package statically and dynamically through CMake and run, with TensorRT-RTX's real library
/// loaded into them (scripts/test.sh runs this with `--features tensorrt-rtx`). Without the C++
/// runtime among the static library's system libraries the static link fails.
#[cfg(feature = "tensorrt-rtx")]
#[test]
fn c_package_with_the_tensorrt_runner_links_and_runs() {
    let temp = tempfile::tempdir().unwrap();
    let tests_build = temp.path().join("capi-build");
    let moved = install_package(temp.path(), false);
    build_capi_tests(&tests_build, &moved, &[]);
    let rtx = std::env::var("VSRQA_TEST_TENSORRT_RTX").expect("VSRQA_TEST_TENSORRT_RTX: run scripts/test.sh");
    let ctest = run(
        "ctest",
        Command::new("ctest").arg("--output-on-failure").current_dir(&tests_build).env("VSRQA_TENSORRT_LIBRARY", rtx),
    );
    // capi_shared, capi_static, client_0_4_shared, client_0_4_static, hpp_test,
    // example_player_score and crf_search.
    assert!(ctest.contains("100% tests passed, 0 tests failed out of 7"), "{ctest}");
    // The facade's cxx bridge exports functions of its own (`cxxbridge1$*`); the C library
    // exports the C API only.
    let library = moved.join(format!("lib/libvsrqa.so.{}", env!("CARGO_PKG_VERSION")));
    let report = run(
        "scripts/check-exports.py",
        Command::new("python3")
            .arg(repo().join("scripts/check-exports.py"))
            .arg(format!("{}=vsrqa_", library.display())),
    );
    assert!(report.contains("exports only ['vsrqa_']"), "{report}");
}
