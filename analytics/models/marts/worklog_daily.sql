-- Time logged per author, issue and day (the UTC day the work started), from the worklogs of
-- issues still in scope.
select
    coalesce(w.author."accountId", w.author."key", w.author.name) as author_id,
    max(w.author."displayName") as author_name,
    w.issue_id,
    cast(w.started as date) as work_date,
    count(*) as worklogs,
    sum(w.time_spent_seconds) as time_spent_seconds
from {{ ref('stg_jira__worklogs') }} as w
inner join {{ ref('stg_jira__issues') }} as i on i.id = w.issue_id
group by coalesce(w.author."accountId", w.author."key", w.author.name), w.issue_id, cast(w.started as date)
