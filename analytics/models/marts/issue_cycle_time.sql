-- Cycle and lead time of each issue: from its first move into an In Progress-category status
-- to the first Done-category status after it, from its creation to its first Done, and how
-- often it left Done again.
with stays as (
    select
        *,
        lag(status_category_key) over (partition by issue_id order by entered_at, stay_number) as previous_category_key
    from {{ ref('int_status_stays') }}
),

firsts as (
    select
        issue_id,
        min(case when status_category_key = 'indeterminate' then entered_at end) as first_in_progress_at,
        min(case when status_category_key = 'done' then entered_at end) as first_done_at,
        sum(case when previous_category_key = 'done' and status_category_key <> 'done' then 1 else 0 end) as reopen_count
    from stays
    group by issue_id
),

done_after_progress as (
    select f.issue_id, min(s.entered_at) as done_after_progress_at
    from firsts as f
    inner join stays as s
        on s.issue_id = f.issue_id
        and s.status_category_key = 'done'
        and s.entered_at >= f.first_in_progress_at
    group by f.issue_id
)

select
    i.id as issue_id,
    i."key" as issue_key,
    i.project."key" as project_key,
    i.issuetype.name as issue_type,
    i.created as created_at,
    f.first_in_progress_at,
    f.first_done_at,
    d.done_after_progress_at,
    case
        when d.done_after_progress_at is not null
            then {{ jirapipe_seconds_between('f.first_in_progress_at', 'd.done_after_progress_at') }}
    end as cycle_time_seconds,
    case
        when f.first_done_at is not null then {{ jirapipe_seconds_between('i.created', 'f.first_done_at') }}
    end as lead_time_seconds,
    coalesce(f.reopen_count, 0) as reopen_count
from {{ ref('stg_jira__issues') }} as i
left join firsts as f on f.issue_id = i.id
left join done_after_progress as d on d.issue_id = i.id
