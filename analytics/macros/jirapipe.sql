{#- The few expressions whose SQL differs between engines, dispatched per adapter: the models
    call these, so porting them to another warehouse is porting this file. -#}

{#- "Now" for the models: the `as_of` var, or the time of the build. -#}
{% macro jirapipe_as_of() -%}
  {%- if var('as_of', none) -%}
    cast('{{ var("as_of") }}' as timestamp with time zone)
  {%- else -%}
    current_timestamp
  {%- endif -%}
{%- endmacro %}

{#- Seconds from `start` to `finish` (fractional: Jira's instants have milliseconds). -#}
{% macro jirapipe_seconds_between(start, finish) -%}
  {{ return(adapter.dispatch('jirapipe_seconds_between', 'jirapipe_analytics')(start, finish)) }}
{%- endmacro %}

{% macro default__jirapipe_seconds_between(start, finish) -%}
  ({{ dbt.datediff(start, finish, 'millisecond') }} / 1000.0)
{%- endmacro %}

{% macro duckdb__jirapipe_seconds_between(start, finish) -%}
  ((epoch_ms({{ finish }}) - epoch_ms({{ start }})) / 1000.0)
{%- endmacro %}

{#- One row per day (`date_day`, a date) from `first_day` to `last_day`, both dates. -#}
{% macro jirapipe_days(first_day, last_day) -%}
  {{ return(adapter.dispatch('jirapipe_days', 'jirapipe_analytics')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__jirapipe_days(first_day, last_day) -%}
  {{ exceptions.raise_compiler_error("jirapipe_days: write a day spine for this adapter in macros/jirapipe.sql") }}
{%- endmacro %}

{% macro duckdb__jirapipe_days(first_day, last_day) -%}
  select cast(unnest(generate_series(cast({{ first_day }} as date), cast({{ last_day }} as date), interval 1 day)) as date) as date_day
{%- endmacro %}

{#- The ids in a Sprint field's history value ("12, 13"), one row each as `sprint_id`. -#}
{% macro jirapipe_split_ids(column) -%}
  {{ return(adapter.dispatch('jirapipe_split_ids', 'jirapipe_analytics')(column)) }}
{%- endmacro %}

{% macro default__jirapipe_split_ids(column) -%}
  {{ exceptions.raise_compiler_error("jirapipe_split_ids: write a list split for this adapter in macros/jirapipe.sql") }}
{%- endmacro %}

{% macro duckdb__jirapipe_split_ids(column) -%}
  trim(unnest(string_split(coalesce({{ column }}, ''), ',')))
{%- endmacro %}

{#- A generic test: no two rows share the values of `columns` (dbt-utils' test, without the package). -#}
{% test jirapipe_unique_combination(model, columns) %}
  select {{ columns | join(', ') }}, count(*) as rows_with_these_values
  from {{ model }}
  group by {{ columns | join(', ') }}
  having count(*) > 1
{% endtest %}
