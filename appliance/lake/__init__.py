"""The lake export's parts: durable file steps (`files`), each table's commit of files and watermark
(`journal`), and the partition value of a name (`partitions`). `appliance.lake_export` runs them."""
