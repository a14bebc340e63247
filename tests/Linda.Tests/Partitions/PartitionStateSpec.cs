using Xunit;
using static Linda.JobQueue;

namespace Linda.Tests.Partitions;

/// <summary>A partition's state: the ids it makes name it, and it keeps its form of id for itself.</summary>
public sealed class PartitionStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static JobQueueState Partition(string name)
    {
        var state = new JobQueueState(name);
        state.Advance(T0);
        return state;
    }

    private static Pushed Push(JobQueueState state, Push push)
    {
        var decision = state.Push(push);
        var pushed = Assert.IsType<Pushed>(decision.Reply);
        state.Apply(decision.Event!);
        return pushed;
    }

    [Fact]
    public void A_partition_names_its_jobs_by_its_index_and_their_sequence_number()
    {
        var state = Partition("orders~2");
        Assert.Equal("p2.", state.IdPrefix);
        Assert.Equal("p2.1", Push(state, new Push("orders~2", JobPayload.Create("c"))).JobId);
        Assert.Equal("p2.2", Push(state, new Push("orders~2", JobPayload.Create("c"))).JobId);
        Assert.Equal("own", Push(state, new Push("orders~2", JobPayload.Create("c")) { Id = "own" }).JobId);
        Assert.Equal(3, state.TotalJobs);
        Assert.Equal(2, QueuePartitions.NamedBy("p2.2", 3));
        // Found by id, and a job of its own by its sequence number in the partition's form.
        Assert.Equal("p2.2", state.View("p2.2")!.Job.Id);
        Assert.Equal("own", state.View("p2.3")!.Job.Id);
        Assert.Null(state.View("3"));
        Assert.Null(state.View("p2.03"));
    }

    [Fact]
    public void A_queue_of_one_actor_keeps_its_ids_as_they_were()
    {
        var state = Partition("orders");
        Assert.Equal("", state.IdPrefix);
        Assert.Equal("1", Push(state, new Push("orders", JobPayload.Create("c"))).JobId);
        Assert.Equal("1", state.View("1")!.Job.Id);
    }

    [Theory]
    [InlineData("p2.5")]
    [InlineData("p2.0")]
    [InlineData("12")]
    public void A_partition_refuses_an_id_of_its_own_in_the_form_of_its_generated_ids(string id)
    {
        var state = Partition("orders~2");
        var rejected = Assert.IsType<Rejected>(state.Push(new Push("orders~2", JobPayload.Create("c")) { Id = id }).Reply);
        Assert.Equal(RejectReason.InvalidJobId, rejected.Reason);
    }

    [Fact]
    public void Another_partitions_form_is_an_id_like_any_other_and_a_push_for_the_queue_itself_is_refused()
    {
        var state = Partition("orders~2");
        Assert.Equal("p1.5", Push(state, new Push("orders~2", JobPayload.Create("c")) { Id = "p1.5" }).JobId);
        var wrong = Assert.IsType<Rejected>(state.Push(new Push("orders", JobPayload.Create("c"))).Reply);
        Assert.Equal(RejectReason.WrongQueue, wrong.Reason);
    }

    [Fact]
    public void A_partitions_snapshot_gives_back_its_ids()
    {
        var state = Partition("orders~1");
        Push(state, new Push("orders~1", JobPayload.Create("c")));
        Push(state, new Push("orders~1", JobPayload.Create("c")) { Id = "own" });
        using var system = Akka.Actor.ActorSystem.Create("snapshot-spec", LindaSettings.DefaultConfig);
        var snapshot = state.ToSnapshot();
        var codec = Assert.IsType<Serialization.LindaSerializer>(system.Serialization.FindSerializerFor(snapshot));
        var read = (JobQueueSnapshot)codec.FromBinary(codec.ToBinary(snapshot), codec.Manifest(snapshot));
        var restored = JobQueueState.FromSnapshot(read);
        Assert.Equal(["own", "p1.1"], restored.ToSnapshot().Jobs.Select(j => j.Job.Id).Order(StringComparer.Ordinal));
        Assert.Equal("p1.3", Push(restored, new Push("orders~1", JobPayload.Create("c"))).JobId);
    }
}
