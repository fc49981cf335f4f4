-- Time each issue spent in each status: every stay summed, a stay still open counted up to
-- `as_of`.
select
    issue_id,
    status_id,
    max(status_name) as status_name,
    max(status_category_key) as status_category_key,
    count(*) as stays,
    sum(seconds) as seconds_in_status,
    min(entered_at) as first_entered_at,
    max(case when left_at is null or left_at > {{ jirapipe_as_of() }} then 1 else 0 end) = 1 as is_current
from {{ ref('int_status_stays') }}
group by issue_id, status_id
