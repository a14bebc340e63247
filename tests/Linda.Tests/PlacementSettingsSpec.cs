using Akka.Cluster.Sharding;
using Akka.Configuration;
using Linda.Hosting;
using Linda.Hosting.Placement;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// The placement setting, the queues' shard region settings (<c>linda.sharding</c> over
/// <c>akka.cluster.sharding</c>) and the message extractor, without a cluster: an ActorSystem with the
/// cluster provider that joins nothing.
/// </summary>
public sealed class PlacementSettingsSpec(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString("akka.actor.provider = cluster")
        .WithFallback(LindaSettings.FailoverProfile(FailoverProfile.Fast))
        .WithFallback(LindaSettings.DefaultConfig), "placement-spec", output)
{
    [Fact]
    public void Sharded_is_the_default_placement_and_singleton_the_other()
    {
        Assert.Equal(QueuePlacement.Sharded, LindaSettings.Create(Config.Empty).Placement);
        Assert.Equal(QueuePlacement.Singleton, LindaSettings.Create(ConfigurationFactory.ParseString("linda.placement = singleton")).Placement);
        var e = Assert.Throws<ConfigurationException>(() => LindaSettings.Create(ConfigurationFactory.ParseString("linda.placement = everywhere")));
        Assert.Contains("linda.placement must be sharded or singleton, not 'everywhere'", e.Message);
    }

    [Theory]
    [InlineData(QueuePlacement.Singleton, "linda.placement = singleton")]
    [InlineData(QueuePlacement.Sharded, "linda.placement = sharded")]
    public void The_option_becomes_its_hocon_line(QueuePlacement placement, string line)
    {
        var hocon = new LindaOptions { Placement = placement }.ToHocon();
        Assert.Contains(line, hocon);
        Assert.Equal(placement, LindaSettings.Create(ConfigurationFactory.ParseString(hocon)).Placement);
        Assert.DoesNotContain("placement", new LindaOptions().ToHocon());
    }

    [Fact]
    public void The_queues_region_remembers_its_queues_in_the_journal_and_never_passivates_them()
    {
        var settings = QueueSharding.Settings(Sys, LindaSettings.Create(Sys), "queues");
        Assert.Equal("queues", settings.Role);
        Assert.True(settings.RememberEntities);
        Assert.Equal(RememberEntitiesStore.Eventsourced, settings.RememberEntitiesStore);
        Assert.Equal(StateStoreMode.DData, settings.StateStoreMode);
        Assert.Equal(TimeSpan.Zero, settings.PassivateIdleEntityAfter); // off
        Assert.Equal(TimeSpan.FromSeconds(10), settings.TuningParameters.RebalanceInterval);
        // The Fast failover profile's: regions find a coordinator that moved within 200 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.TuningParameters.RetryInterval);
        Assert.Equal(string.Empty, settings.JournalPluginId); // the default journal, Linda's own

        // An application's own sharded types keep Akka's defaults.
        var theirs = ClusterShardingSettings.Create(Sys);
        Assert.False(theirs.RememberEntities);
        Assert.Equal(TimeSpan.FromSeconds(2), theirs.TuningParameters.RetryInterval);
    }

    [Fact]
    public void Queue_settings_naming_their_journal_name_it_for_the_remembered_queues_too()
    {
        var linda = LindaSettings.Create(ConfigurationFactory.ParseString("""
            linda.queue.journal-plugin = "akka.persistence.journal.queues"
            linda.queue.snapshot-plugin = "akka.persistence.snapshot-store.queues"
            """));
        var settings = QueueSharding.Settings(Sys, linda, null);
        Assert.Equal("akka.persistence.journal.queues", settings.JournalPluginId);
        Assert.Equal("akka.persistence.snapshot-store.queues", settings.SnapshotPluginId);
        Assert.Null(settings.Role);
    }

    [Fact]
    public void The_extractor_routes_an_envelope_to_its_queue_and_hands_the_queue_what_it_holds()
    {
        var extractor = QueueMessageExtractor.Instance;
        var complete = new Complete("7", 3);
        var envelope = new QueueEnvelope("mail", complete);
        Assert.Equal("mail", extractor.EntityId(envelope));
        Assert.Equal("mail", extractor.ShardId(envelope));
        Assert.Equal("mail", extractor.ShardId("mail"));
        Assert.Same(complete, extractor.EntityMessage(envelope));
        Assert.Null(extractor.EntityId(complete)); // a command alone names no queue: the region drops it
    }
}
