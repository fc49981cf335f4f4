-- When each issue was in each sprint: one row per value of the Sprint field that names the
-- sprint, [valid_from, valid_to) (valid_to null: still). An issue whose Sprint field never
-- changed (created into its sprint) is in its current sprints since it was created.
with history as (
    select
        issue_id,
        valid_from,
        valid_to,
        {{ jirapipe_split_ids('value_id') }} as sprint_id
    from {{ ref('stg_jira__issue_field_history') }}
    where field_id = '{{ jirapipe_custom_field("sprint") }}'
),

unchanged as (
    select
        i.id as issue_id,
        i.created as valid_from,
        cast(null as timestamp with time zone) as valid_to,
        unnest(i.sprint) as sprint_value
    from {{ ref('stg_jira__issues') }} as i
    where not exists (
        select 1
        from {{ ref('stg_jira__issue_field_history') }} as h
        where h.issue_id = i.id and h.field_id = '{{ jirapipe_custom_field("sprint") }}'
    )
),

membership as (
    select issue_id, valid_from, valid_to, sprint_id from history
    union all
    select issue_id, valid_from, valid_to, sprint_value.id as sprint_id from unchanged
)

select m.issue_id, m.sprint_id, m.valid_from, m.valid_to
from membership as m
inner join {{ ref('stg_jira__issues') }} as i on i.id = m.issue_id
where m.sprint_id is not null and m.sprint_id <> ''
