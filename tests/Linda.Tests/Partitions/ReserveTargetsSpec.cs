using Akka.Actor;
using Linda.Workers;
using Xunit;

namespace Linda.Tests.Partitions;

/// <summary>Where a worker's reserves go (<see cref="ReserveTargets"/>), with probes for the partitions' addresses and actors.</summary>
public sealed class ReserveTargetsSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly WorkerSettings Settings = WorkerSettings.Default with { ReserveWait = TimeSpan.FromSeconds(30), PartitionPoll = TimeSpan.FromSeconds(1) };

    private IActorRef[] Addresses(int n) => Enumerable.Range(0, n).Select(_ => (IActorRef)CreateTestProbe().Ref).ToArray();

    [Fact]
    public void A_queue_of_one_actor_is_always_asked_with_a_long_poll()
    {
        var targets = new ReserveTargets(Addresses(1), spread: 5);
        Assert.False(targets.Partitioned);
        for (var i = 0; i < 3; i++)
        {
            var (target, wait) = targets.Next(Settings);
            Assert.Equal((0, Settings.ReserveWait), (target.Index, wait));
            targets.Missed(target);
        }
    }

    [Fact]
    public void A_worker_keeps_asking_the_partition_that_had_a_job_and_goes_round_when_it_has_none()
    {
        var targets = new ReserveTargets(Addresses(3), spread: 1);
        var (first, wait) = targets.Next(Settings);
        Assert.Equal((1, TimeSpan.Zero), (first.Index, wait)); // its spread: partition 1, answered at once
        targets.Got(first);
        Assert.Equal(1, targets.Next(Settings).Target.Index);

        // None at 1: 2, then 0, each at once; a whole round without a job: a poll on its home, then round again.
        var asked = new List<(int, TimeSpan)>();
        for (var i = 0; i < 5; i++)
        {
            var (t, w) = targets.Next(Settings);
            asked.Add((t.Index, w));
            targets.Missed(t);
        }
        Assert.Equal([(1, TimeSpan.Zero), (2, TimeSpan.Zero), (0, TimeSpan.Zero), (1, Settings.PartitionPoll), (2, TimeSpan.Zero)], asked);
    }

    [Fact]
    public void The_workers_own_node_partitions_come_first_and_its_home_is_one_of_them()
    {
        var targets = new ReserveTargets(Addresses(4), spread: 2);
        // Partitions 1 and 3 answered from this node; 0 and 2 from another.
        var remote = ActorRefs.Nobody; // not learnt: stays remote
        Assert.False(targets.All[0].Learn(remote));
        Assert.True(targets.All[1].Learn(CreateTestProbe().Ref));
        Assert.True(targets.All[3].Learn(CreateTestProbe().Ref));
        Assert.True(targets.All[1].Local && targets.All[3].Local && !targets.All[0].Local);

        var order = new List<(int, TimeSpan)>();
        var (t, _) = targets.Next(Settings);
        for (var i = 0; i < 4; i++)
        {
            targets.Missed(t);
            (t, var wait) = targets.Next(Settings);
            order.Add((t.Index, wait));
        }
        // From 2 (its spread), round the order local-first [1, 3, 0, 2]: 1, 3, 0; then the poll on its
        // home, a partition of its own node (spread 2 of the two local ones: 1).
        Assert.Equal([(1, TimeSpan.Zero), (3, TimeSpan.Zero), (0, TimeSpan.Zero), (1, Settings.PartitionPoll)], order);
    }

    [Fact]
    public void A_job_names_the_partition_it_came_from_and_a_gone_actor_sends_commands_back_to_the_address()
    {
        var addresses = Addresses(3);
        var targets = new ReserveTargets(addresses, spread: 0);
        Assert.Equal(2, targets.ByQueue("orders~2").Index);
        Assert.Equal(0, targets.ByQueue("orders").Index);
        var actor = CreateTestProbe().Ref;
        targets.All[2].Learn(actor);
        Assert.Same(targets.All[2], targets.ByActor(actor));
        Assert.Equal(actor, targets.All[2].Route);
        targets.All[2].Forget();
        Assert.Equal(addresses[2], targets.All[2].Route);
        Assert.Null(targets.ByActor(actor));
    }
}
