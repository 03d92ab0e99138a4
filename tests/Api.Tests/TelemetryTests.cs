using System.Collections.Concurrent;
using System.Diagnostics;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Traces: one HTTP request's trace (recorded by an in-process ActivityListener, as an
/// OpenTelemetry SDK would listen) holds the request's span, tagged with its OpenStack request id,
/// and the spans of the grain calls it made, which carry the request id as baggage.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests
{
    [Fact]
    public async Task A_requests_trace_carries_its_request_id_and_the_spans_of_its_grain_calls()
    {
        await using var server = new GlanceServer();
        var api = server.Client;
        var id = await api.CreateUploadableAsync(Persona.P1);
        var stopped = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
                || source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var requestId = $"req-{Guid.NewGuid()}";
        var shown = Expect.Status(await api.SendAsync(HttpMethod.Get, $"/v2/images/{id}", Persona.P1, null,
            new Dictionary<string, string> { ["x-openstack-request-id"] = requestId }), 200);
        Assert.Equal(requestId, shown.Header("x-openstack-request-id"));

        Activity? request = null;
        Assert.True(await ImageBytes.EventuallyAsync(() =>
        {
            request = stopped.FirstOrDefault(a => a.Kind == ActivityKind.Server && a.GetTagItem("openstack.request_id") as string == requestId);
            return Task.FromResult(request is not null);
        }), "no server span tagged with the request id");
        Assert.Equal(Persona.P1.Project, request!.GetTagItem("openstack.project_id"));
        var trace = stopped.Where(a => a.TraceId == request.TraceId).ToList();
        var names = string.Join(", ", trace.Select(a => $"{a.Source.Name}:{a.OperationName}"));
        // The call from the HTTP handler to the image grain, and the grain's side of it.
        var grainCalls = trace.Where(a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)
            && a.OperationName.Contains("ImageGrain", StringComparison.Ordinal)).ToList();
        Assert.True(grainCalls.Count >= 1, $"no image grain span in the trace: {names}");
        Assert.Contains(grainCalls, a => a.Kind == ActivityKind.Client);
        Assert.Contains(grainCalls, a => a.Kind == ActivityKind.Server);
        Assert.All(grainCalls, a => Assert.Equal(requestId, a.GetBaggageItem("openstack.request_id")));
        // Nothing of another request is in it.
        Assert.DoesNotContain(trace, a => a.GetTagItem("openstack.request_id") is string other && other != requestId);
    }
}
