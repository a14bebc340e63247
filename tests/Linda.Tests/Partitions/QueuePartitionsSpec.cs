using Akka.Configuration;
using Linda.Hosting;
using Linda.Workers;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests.Partitions;

/// <summary>Partition names, the ids a partition makes, where pushes and ids go, and the settings (pure).</summary>
public sealed class QueuePartitionsSpec
{
    [Theory]
    [InlineData("orders~0", "orders", 0)]
    [InlineData("orders~17", "orders", 17)]
    [InlineData("a.b/c~255", "a.b/c", 255)]
    public void A_partition_name_is_its_queue_a_tilde_and_its_index(string name, string queue, int index)
    {
        Assert.Equal(name, QueuePartitions.NameOf(queue, index));
        Assert.True(QueuePartitions.TryParse(name, out var q, out var i));
        Assert.Equal((queue, index), (q, i));
        Assert.Null(QueuePartitions.CheckQueueName(name));
    }

    [Theory]
    [InlineData("orders")]
    [InlineData("orders~")]
    [InlineData("~1")]
    [InlineData("orders~01")]
    [InlineData("orders~256")]
    [InlineData("orders~x")]
    public void Anything_else_is_no_partition_name(string name) =>
        Assert.False(QueuePartitions.TryParse(name, out _, out _));

    [Theory]
    [InlineData("orders~01")]
    [InlineData("or~ders")]
    [InlineData("-x~1")]
    public void A_queue_name_with_a_tilde_that_names_no_partition_is_refused(string name) =>
        Assert.NotNull(QueuePartitions.CheckQueueName(name));

    [Theory]
    [InlineData("p0.1", 3, 0)]
    [InlineData("p2.17", 3, 2)]
    [InlineData("p12.9000", 16, 12)]
    public void A_generated_id_names_its_partition(string id, int count, int partition)
    {
        Assert.Equal(partition, QueuePartitions.NamedBy(id, count));
        Assert.Equal(partition, QueuePartitions.OfId(id, count));
    }

    [Theory]
    [InlineData("p3.1", 3)]   // no such partition: an id of its own
    [InlineData("p01.1", 3)]
    [InlineData("p1.01", 3)]
    [InlineData("p1.", 3)]
    [InlineData("p.1", 3)]
    [InlineData("order-1", 3)]
    [InlineData("17", 3)]
    public void Other_ids_name_no_partition_and_hash_to_one(string id, int count)
    {
        Assert.Null(QueuePartitions.NamedBy(id, count));
        Assert.Equal(QueuePartitions.OfKey(id, count), QueuePartitions.OfId(id, count));
    }

    [Fact]
    public void A_key_hashes_alike_in_every_process_and_version()
    {
        // FNV-1a over the key's UTF-16 code units: these values are what every Linda places by, so a
        // change here would move existing keys' jobs to other partitions.
        Assert.Equal(1, QueuePartitions.OfKey("customer-1", 3)); // (also computed apart, in Python)
        Assert.Equal(1, QueuePartitions.OfKey("customer-1", 6));
        Assert.Equal(0, QueuePartitions.OfKey("", 1));
        var spread = Enumerable.Range(0, 6000).GroupBy(i => QueuePartitions.OfKey("key-" + i, 6)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(6, spread.Count);
        Assert.All(spread.Values, n => Assert.InRange(n, 800, 1200));
    }

    [Fact]
    public void A_push_goes_by_its_concurrency_key_else_its_unique_key_else_its_id_else_in_turn()
    {
        var push = new Push("orders", JobPayload.Create("c"));
        Assert.Equal([0, 1, 2, 0], Enumerable.Range(0, 4).Select(turn => QueuePartitions.OfPush(push, 3, turn)));
        var byId = push with { Id = "order-42" };
        Assert.Equal(QueuePartitions.OfKey("order-42", 5), QueuePartitions.OfPush(byId, 5, 3));
        var byUnique = byId with { UniqueKey = "u" };
        Assert.Equal(QueuePartitions.OfKey("u", 5), QueuePartitions.OfPush(byUnique, 5, 3));
        var byConcurrency = byUnique with { ConcurrencyKey = "tenant-9" };
        Assert.Equal(QueuePartitions.OfKey("tenant-9", 5), QueuePartitions.OfPush(byConcurrency, 5, 3));
        Assert.Equal(4, QueuePartitions.OfPush(push with { Id = "p4.12" }, 5, 0));
    }

    [Fact]
    public void The_partitions_setting_lists_partitioned_queues_and_refuses_bad_counts()
    {
        var settings = LindaSettings.Create(ConfigurationFactory.ParseString("linda.partitions { orders = 6, \"mail.out\" = 3, single = 1 }"));
        Assert.Equal(6, settings.PartitionsOf("orders"));
        Assert.Equal(3, settings.PartitionsOf("mail.out"));
        Assert.Equal(1, settings.PartitionsOf("single"));
        Assert.Equal(1, settings.PartitionsOf("other"));
        Assert.Equal(1, LindaSettings.Create(ConfigurationFactory.Empty).PartitionsOf("orders"));
        var e = Assert.Throws<ConfigurationException>(() => LindaSettings.Create(ConfigurationFactory.ParseString("linda.partitions.orders = 0")));
        Assert.Contains("linda.partitions.orders must be 1 to 256, not 0", e.Message);
        Assert.Throws<ConfigurationException>(() => LindaSettings.Create(ConfigurationFactory.ParseString("linda.partitions.orders = 257")));
        Assert.Equal(TimeSpan.FromSeconds(1), LindaSettings.Create(ConfigurationFactory.Empty).Workers.PartitionPoll);
    }

    [Fact]
    public void The_option_becomes_hocon_that_reads_back()
    {
        var options = new LindaOptions { Queues = ["orders", "a.b"], Partitions = new Dictionary<string, int> { ["orders"] = 4, ["a.b"] = 2 } };
        options.Validate();
        var settings = LindaSettings.Create(ConfigurationFactory.ParseString(options.ToHocon()));
        Assert.Equal(4, settings.PartitionsOf("orders"));
        Assert.Equal(2, settings.PartitionsOf("a.b"));
    }

    [Fact]
    public void The_option_refuses_unknown_queues_bad_counts_and_the_singleton_placement()
    {
        Assert.Contains("not one of Queues", Assert.Throws<ArgumentException>(() =>
            new LindaOptions { Queues = ["a"], Partitions = new Dictionary<string, int> { ["b"] = 2 } }.Validate()).Message);
        Assert.Contains("1 to 256 partitions, not 0", Assert.Throws<ArgumentException>(() =>
            new LindaOptions { Queues = ["a"], Partitions = new Dictionary<string, int> { ["a"] = 0 } }.Validate()).Message);
        Assert.Contains("sharded placement", Assert.Throws<ArgumentException>(() =>
            new LindaOptions { Queues = ["a"], Placement = QueuePlacement.Singleton, Partitions = new Dictionary<string, int> { ["a"] = 2 } }.Validate()).Message);
    }

    private static Job Keyed(string id, string queue, string? key) =>
        new(id, queue, JobPayload.Create("c"), 1024, TimeSpan.FromSeconds(10), null, null, DateTimeOffset.UnixEpoch) { ConcurrencyKey = key };

    [Fact]
    public void A_recovered_queue_says_when_its_partition_count_changed_since_its_jobs_were_pushed()
    {
        var key = Enumerable.Range(0, 100).Select(i => $"k{i}").First(k => QueuePartitions.OfKey(k, 3) == 1 && QueuePartitions.OfKey(k, 6) != 1);
        Job[] jobs = [Keyed("p1.1", "orders~1", key), Keyed("p1.2", "orders~1", null)];
        Assert.Null(QueuePartitions.CheckRecovered("orders~1", 3, jobs.Length, jobs));
        Assert.Contains("belongs in partition", QueuePartitions.CheckRecovered("orders~1", 6, jobs.Length, jobs));
        Assert.Contains("partition 'orders~4' holds 2 jobs, but linda.partitions gives queue 'orders' 3", QueuePartitions.CheckRecovered("orders~4", 3, 2, []));
        Assert.Null(QueuePartitions.CheckRecovered("orders~4", 3, 0, []));
        Assert.Contains("from before it had partitions", QueuePartitions.CheckRecovered("orders", 3, 5, []));
        Assert.Null(QueuePartitions.CheckRecovered("orders", 1, 5, []));
    }
}
