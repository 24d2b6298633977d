//! `vexed timeline` on a golden trace: the picture is well-formed SVG, a trace without
//! any VM observation has exactly one processor lane, "DOS" (plus the inputs lane), and a
//! DPMI client's calls and protected-mode band are on its VM's lane.

use vexed_replay::timeline::{self, Options};
use vexed_tests::corpora_dir;
use vexed_trace::TraceReader;

fn draw(name: &str, opts: &Options) -> String {
    let path = corpora_dir().join("golden").join(format!("{name}.trace"));
    let mut reader = TraceReader::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    timeline::from_reader(&mut reader, &format!("{name}.trace"), opts)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn lane_labels(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("lane-label"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect()
}

fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    for attr in ["width", "height", "viewBox"] {
        assert!(root.attribute(attr).is_some(), "no {attr} on <svg>");
    }
    doc
}

#[test]
fn xmsshare_timeline_is_one_dos_lane() {
    let svg = draw("xmsshare", &Options::default());
    let doc = parse(&svg);
    assert_eq!(lane_labels(&doc), ["DOS", "inputs"]);
    assert!(
        svg.contains("VM scheduling of xmsshare (xmsshare.trace)"),
        "title"
    );
    // DOS runs the whole time: one bar, still running at the end.
    let bars = doc
        .descendants()
        .filter(|n| n.attribute("data-lane") == Some("dos"))
        .flat_map(|g| g.descendants())
        .filter(|n| n.attribute("class") == Some("bar r-running"))
        .count();
    assert_eq!(bars, 1);
    // The scenario calls XMS: marks on the DOS lane.
    let xms = doc
        .descendants()
        .filter(|n| n.attribute("data-lane") == Some("dos"))
        .flat_map(|g| g.descendants())
        .filter(|n| n.attribute("class") == Some("mark xms"))
        .count();
    assert!(xms > 0, "no XMS marks");
}

#[test]
fn xmsshare_timeline_window_is_well_formed() {
    let opts = Options {
        from: Some(1_000),
        to: Some(2_000_000),
        width: 600,
    };
    let doc_text = draw("xmsshare", &opts);
    let doc = parse(&doc_text);
    assert_eq!(doc.root_element().attribute("width"), Some("600"));
    assert_eq!(lane_labels(&doc), ["DOS", "inputs"]);
}

#[test]
fn critsec_timeline_has_a_lane_per_vm_and_critical_sections() {
    let svg = draw("critsec", &Options::default());
    let doc = parse(&svg);
    assert_eq!(
        lane_labels(&doc),
        [
            "DOS (outside the VMM)",
            "VM 1 (system)",
            "VM 2 CRITSEC.COM",
            "VM 3 CRITSEC.COM",
            "inputs"
        ]
    );
    // 200 increments inside critical sections: hatched overlays on the two DOS VMs' lanes
    // (merged where narrower than a pixel, so at least one per lane).
    for lane in ["vm2", "vm3"] {
        let sections = doc
            .descendants()
            .filter(|n| n.attribute("data-lane") == Some(lane))
            .flat_map(|g| g.descendants())
            .filter(|n| n.attribute("class").is_some_and(|c| c.contains("crit")))
            .count();
        assert!(sections > 0, "no critical sections on {lane}");
    }
}

#[test]
fn xmsshare_win_timeline_shows_the_dpmi_client_on_its_vms_lane() {
    let svg = draw("xmsshare-win", &Options::default());
    let doc = parse(&svg);
    assert_eq!(
        lane_labels(&doc),
        [
            "DOS (outside the VMM)",
            "VM 1 (system) XMSWIN.COM",
            "VM 2 XMSVM.COM",
            "VM 3 XMSVM.COM",
            "inputs"
        ]
    );
    let in_lane = |lane: &str, class: &str| {
        doc.descendants()
            .filter(|n| n.attribute("data-lane") == Some(lane))
            .flat_map(|g| g.descendants())
            .filter(|n| n.attribute("class") == Some(class))
            .count()
    };
    // XMSWIN's Int 31h calls and its one stay in protected mode (DpmiStart to DpmiExit,
    // no fault) are on the system VM's lane only.
    assert!(in_lane("vm1", "mark dpmi") > 0, "no DPMI marks on VM 1");
    assert_eq!(in_lane("vm1", "pm pm-exit"), 1);
    for lane in ["dos", "vm2", "vm3"] {
        assert_eq!(in_lane(lane, "mark dpmi"), 0, "{lane}");
        assert_eq!(in_lane(lane, "pm pm-exit"), 0, "{lane}");
    }
    // Its eight critical sections are hatched on its lane.
    let sections = doc
        .descendants()
        .filter(|n| n.attribute("data-lane") == Some("vm1"))
        .flat_map(|g| g.descendants())
        .filter(|n| n.attribute("class").is_some_and(|c| c.contains("crit")))
        .count();
    assert!(sections > 0, "no critical sections on the system VM's lane");
    let faults = doc
        .descendants()
        .filter(|n| n.attribute("data-lane").is_some())
        .flat_map(|g| g.descendants())
        .filter(|n| n.attribute("class") == Some("dpmi-fault"))
        .count();
    assert_eq!(faults, 0);
}
