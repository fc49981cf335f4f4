-- Each stay of each issue still in scope in a status, with its category from the statuses
-- dimension (new, indeterminate, done), and its end clipped to `as_of`: a stay still open
-- (or open at `as_of`) counts up to then.
with stays as (
    select
        s.issue_id,
        s.id as stay_id,
        cast({{ dbt.split_part("s.id", "'/'", 2) }} as integer) as stay_number,
        s.status_id,
        s.status_name,
        coalesce(
            st.category_key,
            case s.status_category when 'Done' then 'done' when 'To Do' then 'new' else 'indeterminate' end
        ) as status_category_key,
        s.entered_at,
        s.left_at
    from {{ ref('stg_jira__issue_status_intervals') }} as s
    inner join {{ ref('stg_jira__issues') }} as i on i.id = s.issue_id
    left join {{ ref('stg_jira__statuses') }} as st on st.id = s.status_id
    where s.entered_at <= {{ jirapipe_as_of() }}
),

clipped as (
    select
        *,
        case
            when left_at is null or left_at > {{ jirapipe_as_of() }} then {{ jirapipe_as_of() }}
            else left_at
        end as until_at
    from stays
)

select
    *,
    {{ jirapipe_seconds_between('entered_at', 'until_at') }} as seconds
from clipped
