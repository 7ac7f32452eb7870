//! SIGINT (Ctrl-C) and SIGTERM: every command stops promptly, cleanly, with the shell's code.
//!
//! * A command that can stop by itself at a safe point (training: after the current step, with
//!   a checkpoint that `--resume` accepts) asks for [`cooperative`]: the first signal only sets
//!   its flag; a second one ends the process at once.
//! * Every other command ends at once: the temporary files of the writes in flight are removed
//!   ([`deltacell_data::output::remove_pending_temp_files`]), what was finished stays (every file
//!   is renamed into place only when complete), and nothing partial is left under a final name.
//!
//! The exit status is 130 after SIGINT and 143 after SIGTERM (128 + the signal's number), also
//! for a command that stopped cooperatively ([`exit_code`]).
//!
//! A closed standard output (`deltacell eval seg --json | head -c 10`, a reader that failed)
//! ends the command as SIGPIPE ends other Unix tools, at the first print that finds it closed:
//! the temporary files of the writes in flight are removed, one line goes to stderr, and the
//! exit status is 141 (128 + 13), never a panic ([`install`]).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag a cooperative command polls; set by the first signal.
static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// Whether the running command polls [`STOP`].
static COOPERATIVE: AtomicBool = AtomicBool::new(false);
/// The signal received (0 = none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

fn stop_flag() -> &'static Arc<AtomicBool> {
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Exit status of a command whose standard output was closed (128 + SIGPIPE).
const BROKEN_PIPE_EXIT: i32 = 141;

/// Installs the handler (a thread that waits for SIGINT and SIGTERM) and the end of a command
/// whose standard output is closed (Rust ignores SIGPIPE, so `println!` panics on the closed
/// pipe instead: that panic is turned into a clean stop). Call once, first thing.
pub fn install() -> anyhow::Result<()> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            deltacell_data::output::remove_pending_temp_files();
            eprintln!("deltacell: standard output was closed; stopped");
            std::process::exit(BROKEN_PIPE_EXIT);
        }
        default_hook(info);
    }));
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::iterator::Signals;
        let mut signals = Signals::new([SIGINT, SIGTERM])
            .map_err(|e| anyhow::anyhow!("installing the SIGINT/SIGTERM handler: {e}"))?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    let first = RECEIVED
                        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok();
                    if first && COOPERATIVE.load(Ordering::SeqCst) {
                        stop_flag().store(true, Ordering::SeqCst);
                        eprintln!(
                            "\nstopping after the current step (again to quit at once, \
                             without a checkpoint)"
                        );
                        continue;
                    }
                    let removed = deltacell_data::output::remove_pending_temp_files();
                    let code = 128 + RECEIVED.load(Ordering::SeqCst);
                    eprintln!(
                        "\ninterrupted: stopped at once{}",
                        if removed > 0 {
                            format!(", {removed} unfinished file(s) removed")
                        } else {
                            String::new()
                        }
                    );
                    std::process::exit(code);
                }
            })
            .map_err(|e| anyhow::anyhow!("starting the signal thread: {e}"))?;
    }
    Ok(())
}

/// Declares the running command cooperative and returns the flag it must poll: the first
/// signal sets it instead of ending the process.
pub fn cooperative() -> Arc<AtomicBool> {
    COOPERATIVE.store(true, Ordering::SeqCst);
    stop_flag().clone()
}

/// 130 (SIGINT) or 143 (SIGTERM) when a signal stopped the command, `None` otherwise.
pub fn exit_code() -> Option<ExitCode> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(ExitCode::from((128 + sig) as u8)),
    }
}
