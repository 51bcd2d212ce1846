//! The parts API: master data and stock moves need a planner, ticket part moves a technician;
//! refusals are problem documents with 4xx statuses; a ticket's parts follow its life.

use axum::http::StatusCode;
use forewarn_maintenance::Role;
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use crate::tests::{call, send, state};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

#[tokio::test]
async fn stock_and_ticket_parts_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).await;
    let planner = st.db.create_token("pat", Role::Planner).await.unwrap();
    let tech = st.db.create_token("tom", Role::Technician).await.unwrap();
    let viewer = st.db.create_token("vic", Role::Viewer).await.unwrap();
    // Tom's job: a technician acts only on tickets assigned to them.
    st.db
        .put_technician(&crate::ui_tests::tech("tom"))
        .await
        .unwrap();
    st.db.assign(1, "pat", Some("tom"), None).await.unwrap();
    let app = router(st);
    let (p, t, v) = (
        Some(planner.as_str()),
        Some(tech.as_str()),
        Some(viewer.as_str()),
    );

    // Master data: planners write, everybody reads.
    let warehouse = r#"{"id":"wh-a","name":"Stores A","site":"site-a","lat":48.1,"lon":11.5}"#;
    for (token, want) in [
        (None, StatusCode::UNAUTHORIZED),
        (v, StatusCode::FORBIDDEN),
        (t, StatusCode::FORBIDDEN),
        (p, StatusCode::OK),
    ] {
        let (s, body) = send(&app, "POST", "/api/v1/warehouses", token, warehouse).await;
        assert_eq!(s, want, "{body}");
    }
    let site = r#"{"id":"site-a","name":"Plant A","lat":48.1,"lon":11.6}"#;
    assert_eq!(
        send(&app, "POST", "/api/v1/sites", p, site).await.0,
        StatusCode::OK
    );
    let part =
        r#"{"part_number":"BRG-6309-2RS","description":"Bearing","unit":"pcs","unit_cost":18.4}"#;
    assert_eq!(
        send(&app, "POST", "/api/v1/parts", p, part).await.0,
        StatusCode::OK
    );
    for (uri, body, want) in [
        (
            "/api/v1/warehouses",
            r#"{"id":"w","lat":95,"lon":0}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/warehouses",
            r#"{"id":"w","lat":1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/sites",
            r#"{"id":"s","lat":1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/parts",
            r#"{"part_number":""}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/parts",
            r#"{"part_number":"X","colour":"red"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/stock/receive",
            r#"{"warehouse_id":"wh-a","part_number":"BRG-6309-2RS","quantity":-1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/stock/receive",
            r#"{"warehouse_id":"nope","part_number":"BRG-6309-2RS","quantity":1}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/stock/receive",
            r#"{"warehouse_id":"wh-a","part_number":"NOPE","quantity":1}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/stock/transfer",
            r#"{"from":"wh-a","to":"wh-a","part_number":"BRG-6309-2RS","quantity":1}"#,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, b) = send(&app, "POST", uri, p, body).await;
        assert_eq!(s, want, "{uri} {body}: {b}");
        assert!(json(&b)["detail"].is_string(), "{b}");
    }
    let (s, body) = call(&app, "/api/v1/warehouses").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&body)[0]["id"], "wh-a");

    // Ticket 1 (opened by the test state, before any stock) waits for two bearings.
    let (_, body) = call(&app, "/api/v1/tickets/1/parts").await;
    let parts = json(&body);
    assert_eq!(parts["requisitions"][0]["outstanding"], 2, "{body}");
    assert_eq!(
        json(&call(&app, "/api/v1/tickets/1").await.1)["open_requisitions"],
        1
    );
    let (_, body) = call(&app, "/api/v1/requisitions?status=open").await;
    assert_eq!(json(&body).as_array().unwrap().len(), 1);
    assert_eq!(
        call(&app, "/api/v1/requisitions?status=maybe").await.0,
        StatusCode::BAD_REQUEST
    );

    // A delivery of five serves it at once; the reorder point then sees three available.
    let settings = r#"{"reorder_point":4,"bin":"R1-S3"}"#;
    let (s, body) = send(&app, "PUT", "/api/v1/stock/wh-a/BRG-6309-2RS", p, settings).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let receive =
        r#"{"warehouse_id":"wh-a","part_number":"BRG-6309-2RS","quantity":5,"note":"PO 4711"}"#;
    assert_eq!(
        send(&app, "POST", "/api/v1/stock/receive", t, receive)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, body) = send(&app, "POST", "/api/v1/stock/receive", p, receive).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let level = json(&body);
    assert_eq!(
        (
            level["on_hand"].as_i64(),
            level["reserved"].as_i64(),
            level["low"].as_bool()
        ),
        (Some(5), Some(2), Some(true))
    );
    let (_, body) = call(&app, "/api/v1/stock/alerts").await;
    assert_eq!(json(&body)[0]["available"], 3, "{body}");
    let (_, body) = call(&app, "/api/v1/stock?low=true").await;
    assert_eq!(json(&body).as_array().unwrap().len(), 1);
    assert_eq!(
        call(&app, "/api/v1/stock?low=maybe").await.0,
        StatusCode::BAD_REQUEST
    );

    // The technician takes both bearings, uses one, brings one back.
    let issue = r#"{"part_number":"BRG-6309-2RS","quantity":3}"#;
    let (s, body) = send(&app, "POST", "/api/v1/tickets/1/parts/issue", t, issue).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/1/parts/issue", v, "{}")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, body) = send(&app, "POST", "/api/v1/tickets/1/parts/issue", t, "{}").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let one = r#"{"part_number":"BRG-6309-2RS","quantity":1}"#;
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/1/parts/consume", t, one)
            .await
            .0,
        StatusCode::OK
    );
    let (s, body) = send(&app, "POST", "/api/v1/tickets/1/parts/return", t, one).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["reservations"][0]["returned"], 1);
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/1/parts/return", t, one)
            .await
            .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/1/parts/consume", t, "{}")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/99/parts/consume", t, one)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/x/parts/issue", t, "{}")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    // Every movement is in the ledger, newest first, filterable by ticket.
    let (_, body) = call(&app, "/api/v1/stock/ledger?ticket=1").await;
    let ledger = json(&body);
    let kinds: Vec<&str> = ledger
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reserve", "issue", "consume", "return"]);
    let (_, body) = call(&app, "/api/v1/stock/ledger?part=BRG-6309-2RS&limit=1").await;
    assert_eq!(json(&body).as_array().unwrap().len(), 1);
    assert_eq!(
        call(&app, "/api/v1/stock/ledger?limit=5000").await.0,
        StatusCode::BAD_REQUEST
    );
    let (_, body) = call(&app, "/api/v1/stock?warehouse=wh-a").await;
    let level = &json(&body)[0];
    assert_eq!(
        (level["on_hand"].as_i64(), level["reserved"].as_i64()),
        (Some(4), Some(0))
    );
}

#[tokio::test]
async fn technicians_candidates_and_assignment_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).await;
    let planner = st.db.create_token("pat", Role::Planner).await.unwrap();
    let tech = st.db.create_token("tom", Role::Technician).await.unwrap();
    let app = router(st);
    let (p, t) = (Some(planner.as_str()), Some(tech.as_str()));
    let always = r#""shift_start":"00:00","shift_end":"24:00","work_days":["mon","tue","wed","thu","fri","sat","sun"]"#;
    let ann =
        format!(r#"{{"id":"ann","name":"Ann","skills":["mechanical"],"site":"site-a",{always}}}"#);
    let bob = format!(
        r#"{{"id":"bob","name":"Bob","skills":["electrical"],"lat":48.0,"lon":11.0,{always}}}"#
    );
    assert_eq!(
        send(&app, "POST", "/api/v1/technicians", t, &ann).await.0,
        StatusCode::FORBIDDEN
    );
    for body in [&ann, &bob] {
        let (s, b) = send(&app, "POST", "/api/v1/technicians", p, body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    for bad in [
        r#"{"id":"x","shift_start":"7am"}"#,
        r#"{"id":"x","work_days":["someday"]}"#,
        r#"{"id":"x","lat":10}"#,
        r#"{"name":"no id"}"#,
    ] {
        let (s, b) = send(&app, "POST", "/api/v1/technicians", p, bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }
    let (_, body) = call(&app, "/api/v1/technicians").await;
    let list = json(&body);
    assert_eq!(
        (
            list[0]["technician"]["id"].as_str(),
            list[0]["load"].as_i64()
        ),
        (Some("ann"), Some(0))
    );

    // Ticket 1 (bearing wear, mechanical) was opened before anyone was on the roster.
    let (s, body) = call(&app, "/api/v1/tickets/1/candidates").await;
    assert_eq!(s, StatusCode::OK);
    let ranking = json(&body);
    assert_eq!(ranking["candidates"][0]["technician_id"], "ann", "{body}");
    assert_eq!(ranking["lacking_skills"], 1);
    assert_eq!(
        call(&app, "/api/v1/tickets/9/candidates").await.0,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/1/assign", t, "{}")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, body) = send(&app, "POST", "/api/v1/tickets/1/assign", p, "{}").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ticket = json(&body);
    assert_eq!(
        (ticket["status"].as_str(), ticket["assignee"].as_str()),
        (Some("assigned"), Some("ann"))
    );
    assert_eq!(ticket["dispatch"]["kind"], "auto");
    assert!(ticket["sla"]["response"]["due_at_ms"].is_i64(), "{body}");
    let over = r#"{"technician_id":"bob","note":"Ann is on leave"}"#;
    let (s, body) = send(&app, "POST", "/api/v1/tickets/1/assign", p, over).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["dispatch"]["kind"], "override");
    for (body, want) in [
        (r#"{"technician_id":"zed"}"#, StatusCode::NOT_FOUND),
        (r#"{"technician":"bob"}"#, StatusCode::BAD_REQUEST),
    ] {
        let (s, b) = send(&app, "POST", "/api/v1/tickets/1/assign", p, body).await;
        assert_eq!(s, want, "{b}");
    }
    let cancel = r#"{"to":"cancelled"}"#;
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/1/transition", p, cancel)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "POST", "/api/v1/tickets/1/assign", p, "{}")
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (_, body) = call(&app, "/api/v1/kpis").await;
    assert!(json(&body)["sla_breached_open"].is_u64(), "{body}");
}

#[tokio::test]
async fn csv_imports_are_all_or_nothing_with_every_bad_row_reported() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path()).await;
    let planner = st.db.create_token("pat", Role::Planner).await.unwrap();
    let viewer = st.db.create_token("vic", Role::Viewer).await.unwrap();
    let app = router(st);
    let p = Some(planner.as_str());
    let w = r#"{"id":"wh-a","lat":48.1,"lon":11.5}"#;
    assert_eq!(
        send(&app, "POST", "/api/v1/warehouses", p, w).await.0,
        StatusCode::OK
    );

    // Parts: a file larger than the JSON body limit, all good.
    let mut parts = String::from("part_number,description,unit,unit_cost\n");
    for i in 0..9000 {
        parts.push_str(&format!(
            "P-{i:05},\"Part {i}, generic spare for the test fleet\",pcs,{}.5\n",
            i % 90
        ));
    }
    assert!(parts.len() > crate::MAX_BODY_BYTES);
    assert_eq!(
        send(&app, "POST", "/api/v1/import/parts", Some(&viewer), &parts)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, body) = send(&app, "POST", "/api/v1/import/parts", p, &parts).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["imported"], 9000);
    let (_, body) = call(&app, "/api/v1/parts").await;
    assert_eq!(
        json(&body).as_array().unwrap().len(),
        9000 + 1,
        "and the ticket's bearing"
    );

    // Stock: three bad rows among good ones; every one reported, nothing applied.
    let stock = "warehouse_id,part_number,on_hand,reorder_point,bin\n\
                 wh-a,P-00001,5,2,A1\n\
                 wh-x,P-00002,5,0,\n\
                 wh-a,P-00003,-1,0,\n\
                 wh-a,P-00001,7,0,\n\
                 wh-a,P-00004,many,0,\n\
                 wh-a,P-00005,3,1,B2\n";
    let (s, body) = send(&app, "POST", "/api/v1/import/stock", p, stock).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let report = json(&body);
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [6], "the parse error first: {body}");
    let stock = stock.replace("many", "4");
    let (s, body) = send(&app, "POST", "/api/v1/import/stock", p, &stock).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let mut lines: Vec<u64> = json(&body)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    lines.sort();
    assert_eq!(lines, [3, 4, 5], "{body}");
    assert!(body.contains("repeats line 2"), "{body}");
    let (_, body) = call(&app, "/api/v1/stock").await;
    assert_eq!(
        json(&body).as_array().unwrap().len(),
        0,
        "nothing half-imported"
    );
    let good = "warehouse_id,part_number,on_hand,reorder_point,bin\nwh-a,P-00001,5,2,A1\nwh-a,P-00005,3,1,B2\n";
    let (s, body) = send(&app, "POST", "/api/v1/import/stock", p, good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, body) = call(&app, "/api/v1/stock/ledger").await;
    assert_eq!(json(&body)[0]["kind"], "adjust");
    // Unknown warehouses are found inside the transaction too.
    let bad = "warehouse_id,part_number,on_hand\nwh-a,P-00001,9\nwh-zz,P-00001,1\n";
    let (s, body) = send(&app, "POST", "/api/v1/import/stock", p, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("no warehouse wh-zz"), "{body}");
    let (_, body) = call(&app, "/api/v1/stock?part=P-00001").await;
    assert_eq!(
        json(&body)[0]["on_hand"],
        5,
        "the good row was rolled back too"
    );

    // Technicians, with ;-separated lists.
    let techs = "id,name,skills,site,shift_start,shift_end,work_days,utc_offset_minutes\n\
                 t1,Ann,mechanical;pumps,site-a,06:00,14:00,mon;tue;wed,60\n\
                 t2,Bob,electrical,,,,,\n";
    let (s, body) = send(&app, "POST", "/api/v1/import/technicians", p, techs).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, body) = call(&app, "/api/v1/technicians").await;
    let list = json(&body);
    assert_eq!(
        list[0]["technician"]["skills"],
        serde_json::json!(["mechanical", "pumps"])
    );
    assert_eq!(
        list[1]["technician"]["shift_start"], "07:00",
        "defaults for empty fields"
    );
    let bad = "id,name,shift_start\nt3,Cy,25:99\nt4,Di,07:00\n";
    let (s, body) = send(&app, "POST", "/api/v1/import/technicians", p, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        json(&call(&app, "/api/v1/technicians").await.1)
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Assets: registered in the store, known to the API at once.
    let assets = "id,site,asset_type,model,location,criticality\n\
                  pump-0100,site-b,centrifugal_pump,CP-200,hall 2,high\n\
                  fan-0001,site-b,ceiling_fan,,,\n\
                  pump-0101,site b,centrifugal_pump,,,\n\
                  pump-0102,site-b,centrifugal_pump,,,extreme\n";
    let (s, body) = send(&app, "POST", "/api/v1/import/assets", p, assets).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(json(&body)["errors"].as_array().unwrap().len(), 3, "{body}");
    assert_eq!(
        call(&app, "/api/v1/assets/pump-0100").await.0,
        StatusCode::NOT_FOUND
    );
    let good: String = assets.lines().take(2).map(|l| format!("{l}\n")).collect();
    let (s, body) = send(&app, "POST", "/api/v1/import/assets", p, &good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = call(&app, "/api/v1/assets/pump-0100").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(r#""criticality":"high""#), "{body}");

    for (uri, body, want) in [
        ("/api/v1/import/robots", "id\nx\n", StatusCode::NOT_FOUND),
        ("/api/v1/import/parts", "", StatusCode::BAD_REQUEST),
        (
            "/api/v1/import/parts",
            "part_number,colour\nX,red\n",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, b) = send(&app, "POST", uri, p, body).await;
        assert_eq!(s, want, "{uri} {body:?}: {b}");
    }
}

#[tokio::test]
async fn the_openapi_document_covers_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()).await);
    let (s, body) = call(&app, "/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let doc = json(&body);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let operations: usize = paths
        .values()
        .map(|p| {
            p.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete"].contains(&k.as_str()))
                .count()
        })
        .sum();
    assert_eq!(operations, 56, "{:?}", paths.keys().collect::<Vec<_>>());
    // Writes name the bearer scheme; every operation documents its errors.
    let transition = &paths["/api/v1/tickets/{id}/transition"]["post"];
    assert_eq!(transition["security"][0]["bearer"], serde_json::json!([]));
    for code in ["400", "401", "403", "409"] {
        assert!(transition["responses"][code].is_object(), "{code}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for schema in [
        "Ticket",
        "Problem",
        "StockLevel",
        "Technician",
        "SlaStatus",
        "Webhook",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn tickets_link_to_an_svg_chart_of_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()).await);
    let (_, body) = call(&app, "/api/v1/tickets/1").await;
    let t = json(&body);
    assert_eq!(t["links"]["asset"], "/api/v1/assets/pump-0001");
    // The test ticket's finding names no sensor: no chart.
    assert!(t["links"]["chart"].is_null(), "{body}");

    let uri = "/api/v1/assets/pump-0001/chart.svg?sensors=flow&from=1779990000000&to=1780010000000&mark=1780000000000&baselines=149.5";
    let res = app
        .clone()
        .oneshot(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let (_, svg) = call(&app, uri).await;
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
    for part in ["flow", "detected", "baseline", "<polyline"] {
        assert!(svg.contains(part), "{part}: {svg}");
    }
    for (uri, want) in [
        (
            "/api/v1/assets/pump-0001/chart.svg?sensors=warp",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/assets/pump-0001/chart.svg?sensors=a,b,c,d,e,f,g",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/pump-0001/chart.svg?sensors=flow&from=5&to=4",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/pump-0001/chart.svg",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/assets/nobody/chart.svg?sensors=flow",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(call(&app, uri).await.0, want, "{uri}");
    }
}
