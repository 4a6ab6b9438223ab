"""Search attributes of the order workflow (registered with the server at start-up)."""

from temporalio.common import SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")
STUCK_STEP = SearchAttributeKey.for_keyword("StuckStep")
