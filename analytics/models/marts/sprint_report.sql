-- Per started sprint: the issues (and story points) in it when it started, added and removed
-- while it ran, completed (in a Done-category status at its end) and carried over (still in
-- it, not done). A sprint ends when it was completed; an active one at `as_of`. Membership
-- comes from the Sprint field's history; points are each issue's current story points.
with sprints as (
    select
        id as sprint_id,
        name as sprint_name,
        state,
        origin_board_id as board_id,
        start_date,
        end_date,
        complete_date,
        case
            when complete_date is not null then complete_date
            when state = 'closed' then end_date
            else {{ jirapipe_as_of() }}
        end as report_end_at
    from {{ ref('stg_jira__sprints') }}
    where start_date is not null and start_date <= {{ jirapipe_as_of() }}
),

per_issue as (
    select
        s.sprint_id,
        m.issue_id,
        max(case
            when m.valid_from <= s.start_date and (m.valid_to is null or m.valid_to > s.start_date) then 1 else 0
        end) as at_start,
        max(case
            when m.valid_from < s.report_end_at and (m.valid_to is null or m.valid_to >= s.report_end_at) then 1 else 0
        end) as at_end,
        max(case
            when m.valid_from < s.report_end_at and (m.valid_to is null or m.valid_to > s.start_date) then 1 else 0
        end) as during
    from sprints as s
    inner join {{ ref('int_sprint_membership') }} as m on m.sprint_id = s.sprint_id
    group by s.sprint_id, m.issue_id
),

done_at_end as (
    select p.sprint_id, p.issue_id, max(case when st.status_category_key = 'done' then 1 else 0 end) as done
    from per_issue as p
    inner join sprints as s on s.sprint_id = p.sprint_id
    inner join {{ ref('int_status_stays') }} as st
        on st.issue_id = p.issue_id
        and st.entered_at < s.report_end_at
        and (st.left_at is null or st.left_at >= s.report_end_at)
    group by p.sprint_id, p.issue_id
),

flags as (
    select
        p.sprint_id,
        p.issue_id,
        p.at_start,
        p.at_end,
        p.during,
        coalesce(d.done, 0) as done,
        coalesce(i.story_points, 0) as points
    from per_issue as p
    left join done_at_end as d on d.sprint_id = p.sprint_id and d.issue_id = p.issue_id
    left join {{ ref('stg_jira__issues') }} as i on i.id = p.issue_id
)

select
    s.sprint_id,
    s.sprint_name,
    s.state,
    s.board_id,
    s.start_date,
    s.end_date,
    s.complete_date,
    s.report_end_at,
    count(case when f.at_start = 1 then 1 end) as committed_issues,
    coalesce(sum(case when f.at_start = 1 then f.points end), 0) as committed_points,
    count(case when f.during = 1 and f.at_start = 0 then 1 end) as added_issues,
    coalesce(sum(case when f.during = 1 and f.at_start = 0 then f.points end), 0) as added_points,
    count(case when f.during = 1 and f.at_end = 0 then 1 end) as removed_issues,
    coalesce(sum(case when f.during = 1 and f.at_end = 0 then f.points end), 0) as removed_points,
    count(case when f.at_end = 1 and f.done = 1 then 1 end) as completed_issues,
    coalesce(sum(case when f.at_end = 1 and f.done = 1 then f.points end), 0) as completed_points,
    count(case when f.at_end = 1 and f.done = 0 then 1 end) as carried_over_issues,
    coalesce(sum(case when f.at_end = 1 and f.done = 0 then f.points end), 0) as carried_over_points
from sprints as s
left join flags as f on f.sprint_id = s.sprint_id
group by s.sprint_id, s.sprint_name, s.state, s.board_id, s.start_date, s.end_date, s.complete_date, s.report_end_at
