//! Why a technician was proposed, in the page's language and as of the moment it was decided:
//! the stored sentence is English and was true at proposal time, while the ranking beside it on
//! the ticket page is computed now — written side by side without a date they contradicted
//! each other ("within the response time" next to "In time: no").

use forewarn_dashboards::Tr;
use forewarn_maintenance::dispatch::Dispatch;

use super::format::when;

/// The reason behind the ticket's dispatch decision, from its recorded ranking.
pub(crate) fn dispatch_reason(tr: Tr, d: &Dispatch) -> String {
    let at = format!("({} {})", tr.t("dispatch.as_of"), when(&d.at));
    let Some(id) = d.technician_id.as_deref() else {
        let why = if d.lacking_skills > 0 {
            format!("{} ({})", tr.t("dispatch.nobody_skilled"), d.lacking_skills)
        } else {
            tr.t("dispatch.nobody_on_shift").to_owned()
        };
        return format!("{why} {at}");
    };
    let Some(c) = d.candidates.iter().find(|c| c.technician_id == id) else {
        // A planner's own choice outside the ranking.
        return format!("{id}: {} {at}", tr.t("dispatch.chosen_by_planner"));
    };
    let distance = c.distance_km.map_or_else(
        || tr.t("dispatch.distance_unknown").to_owned(),
        |km| format!("{km:.0} km"),
    );
    let shift = if c.wait_h == 0.0 {
        tr.t("dispatch.on_shift").to_owned()
    } else {
        format!("{} {}", tr.t("dispatch.on_shift_in"), tr.hours(c.wait_h))
    };
    let response = if c.meets_response {
        tr.t("dispatch.in_time")
    } else {
        tr.t("dispatch.not_in_time")
    };
    format!(
        "{} ({}): {distance}, {shift}, {} {}; {} {}; {response} {at}",
        c.technician_id,
        c.name,
        c.load,
        tr.t("dispatch.open_jobs"),
        tr.t("dispatch.can_start_in"),
        tr.hours(c.score),
    )
}
