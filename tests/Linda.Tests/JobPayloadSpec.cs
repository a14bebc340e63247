using Xunit;

namespace Linda.Tests;

/// <summary>Payloads: JSON args (Linda's own jobs) and raw bytes (beanstalkd bodies).</summary>
public sealed class JobPayloadSpec
{
    private static readonly byte[] Binary = [0, 13, 10, 255, 32, 13, 10, 0];

    [Fact]
    public void A_raw_payload_keeps_its_bytes_exactly()
    {
        var p = JobPayload.Raw("beanstalk", Binary);
        Assert.True(p.IsRaw);
        Assert.Equal(Binary, p.Body.ToArray());
        Assert.Equal("beanstalk".Length + Binary.Length, p.Size);
        Assert.Equal("beanstalk<8 raw bytes>", p.ToString());
    }

    [Fact]
    public void A_raw_payload_has_no_json_args_and_says_so()
    {
        var p = JobPayload.Raw("beanstalk", Binary);
        var e = Assert.Throws<InvalidOperationException>(() => p.ArgsJson);
        Assert.Contains("raw bytes", e.Message);
        Assert.Throws<InvalidOperationException>(() => p.Args);
        Assert.Throws<InvalidOperationException>(() => p.ParseArgs());
    }

    [Fact]
    public void Raw_and_json_payloads_of_the_same_bytes_differ()
    {
        var json = JobPayload.FromJson("c", "[1]");
        var raw = JobPayload.Raw("c", "[1]"u8);
        Assert.NotEqual(json, raw);
        Assert.Equal(raw, JobPayload.Raw("c", "[1]"u8));
        Assert.Equal(raw.GetHashCode(), JobPayload.Raw("c", "[1]"u8).GetHashCode());
        Assert.Equal(json.Body.ToArray(), raw.Body.ToArray());
    }

    [Fact]
    public void A_raw_job_goes_through_the_queue_state_and_its_snapshot_unchanged()
    {
        var state = new JobQueueState("jobs");
        var payload = JobPayload.Raw("beanstalk", Binary);
        var pushed = state.Push(new JobQueue.Push("jobs", payload) { Id = "raw" });
        state.Apply(pushed.Event!);
        var restored = JobQueueState.FromSnapshot(state.ToSnapshot());
        var reserved = restored.Reserve("holder", 7);
        Assert.Equal(payload, ((JobQueue.Reserved)reserved.Reply).Job.Payload);
    }
}
