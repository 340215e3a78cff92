//! The real binary on shipped feeders and temp-dir fixtures: output, JSON, exit codes.

use std::process::Command;

fn netclear(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args(args)
        .output()
        .expect("run netclear");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn network_list_shows_every_shipped_feeder() {
    let (code, out, _) = netclear(&["network", "list"]);
    assert_eq!(code, 0);
    for n in [
        "cigre44",
        "village80",
        "village_2",
        "rural_1",
        "rural_2",
        "suburb_1",
    ] {
        assert!(out.contains(n), "{out}");
    }
}

#[test]
fn network_show_json_has_the_facts() {
    let (code, out, _) = netclear(&["network", "show", "cigre44", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["buses"], 44);
    assert_eq!(v["nodes"], 41);
    assert_eq!(v["radial"], true);
    assert_eq!(v["leaf_buses"].as_array().unwrap().len(), 13);
    assert!((v["total_load_p_mw"].as_f64().unwrap() - 0.6866).abs() < 1e-12);
    // Aliases resolve to the same feeder.
    let (code, out2, _) = netclear(&["network", "show", "cigre_lv", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(out, out2);
}

#[test]
fn pf_json_dc_matches_the_oracle_headline_and_is_deterministic() {
    let args = [
        "pf",
        "--network",
        "cigre44",
        "--model",
        "dc",
        "--pandapower-ratings",
        "--json",
    ];
    let (code, out, _) = netclear(&args);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // pandapower rundcpp on the default loads: import 0.6866 MW, max line loading 27.97 %.
    assert!((v["slack_p_mw"].as_f64().unwrap() - 0.6866).abs() < 1e-9);
    let max_line = v["branches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] == "line")
        .map(|b| b["loading_percent"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!((max_line - 27.97).abs() < 0.01, "{max_line}");
    let (_, again, _) = netclear(&args);
    assert_eq!(out, again);
}

#[test]
fn pf_with_an_injections_file_and_ac_table() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("inj.csv");
    std::fs::write(&f, "bus,p_kw,q_kvar\n16,-5,-1\n18,3,0\n").unwrap();
    let (code, out, err) = netclear(&[
        "pf",
        "--network",
        "cigre44",
        "--injections",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("AC power flow: converged"), "{out}");
}

#[test]
fn bad_input_exits_2_with_file_row_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("feeder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("buses.csv"), "id,vn_kv\n0,20\n1,0.4\n").unwrap();
    std::fs::write(dir.join("ext_grid.csv"), "id,bus\n0,0\n").unwrap();
    std::fs::write(
        dir.join("trafos.csv"),
        "id,hv_bus,lv_bus,sn_mva,vn_hv_kv,vn_lv_kv,vk_percent,vkr_percent\n0,0,1,0.25,20,0.4,4,oops\n",
    )
    .unwrap();
    let (code, _, err) = netclear(&["network", "validate", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("trafos.csv") && err.contains("row 2") && err.contains("vkr_percent"),
        "{err}"
    );
    let (code, _, err) = netclear(&["pf", "--network", "no-such-feeder"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown network") && err.contains("cigre44"),
        "{err}"
    );
}

#[test]
fn validate_warns_about_unreachable_buses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("feeder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("buses.csv"), "id,vn_kv\n0,0.4\n1,0.4\n2,0.4\n").unwrap();
    std::fs::write(dir.join("ext_grid.csv"), "id,bus\n0,0\n").unwrap();
    std::fs::write(
        dir.join("lines.csv"),
        "id,from_bus,to_bus,length_km,r_ohm_per_km,x_ohm_per_km,max_i_ka\n0,0,1,0.1,0.2,0.08,0.2\n",
    )
    .unwrap();
    let (code, out, _) = netclear(&["network", "validate", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("warning: bus 2"), "{out}");
}

#[test]
fn generate_writes_a_loadable_synthetic_feeder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v3");
    let (code, _, err) = netclear(&[
        "network",
        "generate",
        "--copies",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = netclear(&["network", "show", dir.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["buses"], 1 + 3 * 79);
    assert_eq!(v["radial"], true);
}
