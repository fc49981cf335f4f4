-- The value each followed field of each issue held at the end of each day (UTC), from the
-- day the issue was created to the day of `as_of` (whose "end" is `as_of`). Only fields with
-- history rows appear: a field never changed has its value in issue_enhanced.
{%- set default_fields = ['status', 'assignee', 'priority', jirapipe_custom_field('sprint'), jirapipe_custom_field('story_points')] %}
{%- set fields = (var('daily_history_fields', none) or default_fields) | reject('equalto', '') | list %}

with history as (
    select h.issue_id, h.field_id, h.field, h.value_id, h.value, h.valid_from, h.valid_to
    from {{ ref('stg_jira__issue_field_history') }} as h
    inner join {{ ref('stg_jira__issues') }} as i on i.id = h.issue_id
    where h.field_id in ({% for f in fields %}'{{ f }}'{% if not loop.last %}, {% endif %}{% endfor %})
),

spans as (
    select issue_id, field_id, cast(min(valid_from) as date) as first_day
    from history
    group by issue_id, field_id
),

days as (
    {{ jirapipe_days('(select min(first_day) from spans)', jirapipe_as_of()) }}
),

grid as (
    select
        s.issue_id,
        s.field_id,
        d.date_day,
        least(cast(d.date_day + interval 1 day as timestamp with time zone), {{ jirapipe_as_of() }}) as day_end_at
    from spans as s
    inner join days as d on d.date_day >= s.first_day
)

select
    g.issue_id,
    g.field_id,
    h.field as field_name,
    g.date_day,
    h.value_id,
    h.value
from grid as g
inner join history as h
    on h.issue_id = g.issue_id
    and h.field_id = g.field_id
    and h.valid_from < g.day_end_at
    and (h.valid_to is null or h.valid_to >= g.day_end_at)
