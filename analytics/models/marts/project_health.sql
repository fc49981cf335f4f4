-- Per project and week (weeks start on Monday, UTC): issues created, issues that reached a
-- Done-category status, issues open at the end of the week (not in a Done-category status),
-- and the median age of those open issues in days. The current week ends at `as_of`.
with issues as (
    select id as issue_id, project.id as project_id, project."key" as project_key, created
    from {{ ref('stg_jira__issues') }}
),

projects as (
    select project_id, max(project_key) as project_key, cast(date_trunc('week', min(created)) as date) as first_week
    from issues
    group by project_id
),

days as (
    {{ jirapipe_days('(select min(first_week) from projects)', jirapipe_as_of()) }}
),

weeks as (
    select distinct cast(date_trunc('week', date_day) as date) as week_start
    from days
),

grid as (
    select
        p.project_id,
        p.project_key,
        w.week_start,
        cast(w.week_start as timestamp with time zone) as week_start_at,
        least(cast(w.week_start + interval 7 day as timestamp with time zone), {{ jirapipe_as_of() }}) as week_end_at
    from projects as p
    inner join weeks as w on w.week_start >= p.first_week
),

created_counts as (
    select g.project_id, g.week_start, count(*) as created_issues
    from grid as g
    inner join issues as i
        on i.project_id = g.project_id and i.created >= g.week_start_at and i.created < g.week_end_at
    group by g.project_id, g.week_start
),

resolved_counts as (
    select g.project_id, g.week_start, count(distinct s.issue_id) as resolved_issues
    from grid as g
    inner join issues as i on i.project_id = g.project_id
    inner join {{ ref('int_status_stays') }} as s
        on s.issue_id = i.issue_id
        and s.status_category_key = 'done'
        and s.entered_at >= g.week_start_at
        and s.entered_at < g.week_end_at
    group by g.project_id, g.week_start
),

open_at_end as (
    select
        g.project_id,
        g.week_start,
        count(*) as open_issues,
        percentile_cont(0.5) within group (
            order by {{ jirapipe_seconds_between('i.created', 'g.week_end_at') }} / 86400.0
        ) as median_open_age_days
    from grid as g
    inner join issues as i on i.project_id = g.project_id
    inner join {{ ref('int_status_stays') }} as s
        on s.issue_id = i.issue_id
        and s.entered_at < g.week_end_at
        and (s.left_at is null or s.left_at >= g.week_end_at)
        and s.status_category_key <> 'done'
    group by g.project_id, g.week_start
)

select
    g.project_id,
    g.project_key,
    g.week_start,
    g.week_end_at,
    coalesce(c.created_issues, 0) as created_issues,
    coalesce(r.resolved_issues, 0) as resolved_issues,
    coalesce(o.open_issues, 0) as open_issues,
    o.median_open_age_days
from grid as g
left join created_counts as c on c.project_id = g.project_id and c.week_start = g.week_start
left join resolved_counts as r on r.project_id = g.project_id and r.week_start = g.week_start
left join open_at_end as o on o.project_id = g.project_id and o.week_start = g.week_start
