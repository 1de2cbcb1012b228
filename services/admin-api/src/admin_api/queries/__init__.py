"""SQL for properties, webhook secrets and room mappings (channel_events SQL lives in the
shared ChannelEventRepository). Functions take the caller's connection and transaction."""
