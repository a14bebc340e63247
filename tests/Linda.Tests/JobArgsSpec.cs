using Xunit;

namespace Linda.Tests;

/// <summary>Typed jobs' args: the class a type gets, the payload it makes, and strict reading back.</summary>
public sealed class JobArgsSpec
{
    private sealed record Plain(string Email, int Times);

    [JobClass("sendWelcome", Queue = "mail")]
    private sealed record Named(string Email);

    private sealed record Optional(string Email, string? Note = null);

    private sealed record Generic<T>(T Value);

    [JobClass("box")]
    private sealed record NamedGeneric<T>(T Value);

    [Fact]
    public void The_class_is_the_attributes_name_or_the_types_and_a_generic_type_needs_the_attribute()
    {
        Assert.Equal("Plain", JobArgs.ClassOf<Plain>());
        Assert.Null(JobArgs.QueueOf(typeof(Plain)));
        Assert.Equal("sendWelcome", JobArgs.ClassOf<Named>());
        Assert.Equal("mail", JobArgs.QueueOf(typeof(Named)));
        Assert.Equal("box", JobArgs.ClassOf<NamedGeneric<int>>());
        Assert.Contains("[JobClass", Assert.Throws<ArgumentException>(() => JobArgs.ClassOf<Generic<int>>()).Message);
    }

    [Fact]
    public void The_payload_is_a_one_element_json_array_that_reads_back_as_the_record()
    {
        var payload = JobArgs.Payload(new Plain("ada@example.com", 3));
        Assert.Equal("Plain", payload.Class);
        Assert.Equal("""[{"Email":"ada@example.com","Times":3}]""", System.Text.Encoding.UTF8.GetString(payload.Body.Span));
        Assert.True(JobArgs.TryRead<Plain>(payload, out var back, out var error), error);
        Assert.Equal(new Plain("ada@example.com", 3), back);
        Assert.True(JobArgs.TryRead<Optional>(JobPayload.FromJson("Optional", """[{"Email":"x"}]"""), out var optional, out error), error);
        Assert.Equal(new Optional("x"), optional); // an optional parameter may be missing
    }

    [Theory]
    [InlineData("""[{"Address":"ada@example.com","Times":1}]""", "Address")] // a renamed field
    [InlineData("""[{"Email":"ada@example.com"}]""", "Times")] // a field it lacks
    [InlineData("""[{"Email":null,"Times":1}]""", "Email")] // null where the record says non-null
    [InlineData("""[{"Email":"ada@example.com","Times":"one"}]""", "Times")] // the wrong type
    [InlineData("""[null]""", "null")]
    [InlineData("""[]""", "not 0")]
    [InlineData("""[{"Email":"a","Times":1},{"Email":"b","Times":2}]""", "not 2")]
    public void Args_that_do_not_read_strictly_as_the_record_fail_with_the_reason(string json, string reason)
    {
        Assert.False(JobArgs.TryRead<Plain>(JobPayload.FromJson("Plain", json), out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void A_raw_payload_is_not_a_typed_jobs_args()
    {
        Assert.False(JobArgs.TryRead<Plain>(JobPayload.Raw("Plain", [1, 2, 3]), out _, out var error));
        Assert.Contains("raw bytes", error);
    }
}
