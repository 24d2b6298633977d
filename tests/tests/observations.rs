//! What the machine reports while DOS programs run (DESIGN.md section 4): driver calls with
//! their registers, console output, programs starting, ending and staying resident.

use vexed_emu::machine::Stop;
use vexed_emu::observe::Observation;
use vexed_replay::run::build_machine;
use vexed_replay::scenario::Scenario;
use vexed_tests::corpora_dir;

#[test]
fn the_q74809_scenario_reports_its_xms_calls_and_the_tsr() {
    let s = Scenario::load(&corpora_dir().join("xmsshare.toml")).expect("scenario");
    let (mut m, _) = build_machine(&s).expect("machine");
    let stop = m.run_until(s.max_ticks);
    assert!(matches!(stop, Stop::Firmware(_)), "{stop:?}");
    let obs = m.take_observations();
    let ticks: Vec<u64> = obs.iter().map(|&(t, _)| t).collect();
    assert!(
        ticks.windows(2).all(|w| w[0] <= w[1]),
        "ticks never go back"
    );

    // The Int 2Fh AX=4300h installation check reaches DOS and answers AL=80h (XMS 3.0).
    assert!(obs.iter().any(|(_, o)| matches!(o,
        Observation::Multiplex { input, output } if input.ax == 0x4300 && output.ax & 0xFF == 0x80)));
    // Allocation (09h) and lock (0Ch) succeed with AX=1.
    for function in [0x09u16, 0x0C] {
        assert!(
            obs.iter().any(|(_, o)| matches!(o,
                Observation::Xms { input, output } if input.ax >> 8 == function && output.ax == 1)),
            "XMS {function:02X}h"
        );
    }
    // XMSSHARE starts, stays resident (AH=4Dh type 3), then XMSCLNT runs and exits 0.
    let programs: Vec<String> = obs
        .iter()
        .filter_map(|(_, o)| match o {
            Observation::ProgramStart { path, .. } => Some(format!("start {path}")),
            Observation::TsrInstalled { .. } => Some("tsr".into()),
            Observation::ProgramExit { code, kind, .. } => Some(format!("exit {code} {kind}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        programs,
        [
            "start C:\\XMSSHARE.COM",
            "tsr",
            "exit 0 3",
            "start C:\\XMSCLNT.COM",
            "exit 0 0"
        ]
    );
    // The console observations are exactly the console output.
    let console: Vec<u8> = obs
        .iter()
        .filter_map(|(_, o)| match o {
            Observation::Console { bytes } => Some(bytes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(console, m.firmware().expect("firmware").console());
}
