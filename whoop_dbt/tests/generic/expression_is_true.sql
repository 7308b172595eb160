{# Every row satisfies the boolean SQL `expression` (rows where it is false fail; null passes). #}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
