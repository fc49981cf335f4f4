-- One row per issue still in scope: who, what, where it stands, how long it spent in each
-- status category so far (up to `as_of`), and how much activity it drew.
with issues as (
    select * from {{ ref('stg_jira__issues') }}
),

time_in_category as (
    select
        issue_id,
        sum(case when status_category_key = 'new' then seconds else 0 end) as seconds_in_to_do,
        sum(case when status_category_key = 'indeterminate' then seconds else 0 end) as seconds_in_progress,
        sum(case when status_category_key = 'done' then seconds else 0 end) as seconds_in_done
    from {{ ref('int_status_stays') }}
    group by issue_id
),

comment_counts as (
    select issue_id, count(*) as comment_count
    from {{ ref('stg_jira__comments') }}
    group by issue_id
),

worklog_totals as (
    select issue_id, count(*) as worklog_count, sum(time_spent_seconds) as worklog_seconds
    from {{ ref('stg_jira__worklogs') }}
    group by issue_id
),

link_ends as (
    select source_issue_id as issue_id, id from {{ ref('stg_jira__issue_links') }}
    union all
    select target_issue_id as issue_id, id from {{ ref('stg_jira__issue_links') }}
    where target_issue_id <> source_issue_id
),

link_counts as (
    select issue_id, count(*) as link_count
    from link_ends
    group by issue_id
)

select
    i.id as issue_id,
    i."key" as issue_key,
    i.summary,
    i.project.id as project_id,
    i.project."key" as project_key,
    i.issuetype.id as issue_type_id,
    i.issuetype.name as issue_type,
    i.issuetype.subtask as is_subtask,
    i.status.id as status_id,
    i.status.name as status,
    coalesce(st.category_key, i.status."statusCategory"."key") as status_category_key,
    coalesce(st.category_name, i.status."statusCategory".name) as status_category,
    i.priority.name as priority,
    coalesce(i.assignee."accountId", i.assignee."key") as assignee_id,
    i.assignee."displayName" as assignee_name,
    coalesce(i.reporter."accountId", i.reporter."key") as reporter_id,
    i.reporter."displayName" as reporter_name,
    i.parent.id as parent_id,
    i.parent."key" as parent_key,
    struct_extract(list_extract(i.sprint, -1), 'id') as sprint_id,
    struct_extract(list_extract(i.sprint, -1), 'name') as sprint_name,
    i.story_points,
    i.created as created_at,
    i.updated as updated_at,
    i.resolutiondate as resolved_at,
    coalesce(t.seconds_in_to_do, 0) as seconds_in_to_do,
    coalesce(t.seconds_in_progress, 0) as seconds_in_progress,
    coalesce(t.seconds_in_done, 0) as seconds_in_done,
    coalesce(c.comment_count, 0) as comment_count,
    coalesce(w.worklog_count, 0) as worklog_count,
    coalesce(w.worklog_seconds, 0) as worklog_seconds,
    coalesce(l.link_count, 0) as link_count
from issues as i
left join {{ ref('stg_jira__statuses') }} as st on st.id = i.status.id
left join time_in_category as t on t.issue_id = i.id
left join comment_counts as c on c.issue_id = i.id
left join worklog_totals as w on w.issue_id = i.id
left join link_counts as l on l.issue_id = i.id
