{#-
    One row per member: where the loaded history begins, i.e. the start of the member's first
    loaded cycle. Partitions are UTC days, so the first loaded day begins mid-way through a
    cycle that started the day before: that day's records before the first loaded cycle (an
    evening workout just after UTC midnight, an afternoon nap while travelling east) belong to
    a cycle outside the loaded history.
-#}
with cycles as (
    select * from {{ ref('stg_cycle') }}
)

select
    user_id,
    min(start_at_utc) as history_start_at_utc,
    max(start_at_utc) as last_cycle_start_at_utc,
    count(*) as cycle_count
from cycles
group by user_id
