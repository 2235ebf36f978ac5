"""The lake export: `export` runs it (`vigil export DIR`, the `export` job) from its parts: durable file
steps (`files`), each table's commit of files and watermark (`journal`), and the partition value of a
name (`partitions`)."""
