using System.Text;
using System.Text.Json;
using Linda.Beanstalk.Protocol;
using Xunit;

namespace Linda.Tests.Beanstalk;

/// <summary>What a beanstalkd client gets as a job's body: a put's bytes as they were; class and JSON args as one JSON object.</summary>
public sealed class JobBodySpec
{
    [Fact]
    public void A_raw_body_is_given_byte_for_byte()
    {
        byte[] bytes = [0, 1, 0xff, (byte)'{', 13, 10];
        Assert.Equal(bytes, JobBody.Of(JobPayload.Raw("beanstalk", bytes)).ToArray());
    }

    [Fact]
    public void A_job_with_a_class_and_json_args_is_given_as_an_object_of_both()
    {
        var body = Encoding.UTF8.GetString(JobBody.Of(JobPayload.FromJson("send \"mail\"", """[1, {"to": "ü@x"}, null]""")).Span);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("send \"mail\"", json.RootElement.GetProperty("class").GetString());
        var args = json.RootElement.GetProperty("args");
        Assert.Equal(3, args.GetArrayLength());
        Assert.Equal("ü@x", args[1].GetProperty("to").GetString());
        Assert.Equal(["class", "args"], json.RootElement.EnumerateObject().Select(p => p.Name));
    }
}
