using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Logs: the real service as its own process, validating tokens against a real Keystone, logging
/// at Trace (HttpClient's lines of its calls to Keystone included) in the JSON console format with
/// scopes. A request's lines carry its request id and project; no token value appears anywhere,
/// neither a valid one nor one Keystone refused.
/// </summary>
[Collection(KeystoneCollection.Name)]
public sealed class TelemetryLogTests(KeystoneFixture keystone)
{
    [Fact]
    public async Task Log_lines_carry_the_request_id_and_project_and_never_a_token()
    {
        using var data = new TempDirectory();
        var settings = KeystoneFixture.Settings(keystone.Url, keystone.Env("KEYSTONE_SERVICE_USER"), keystone.Env("KEYSTONE_SERVICE_PASSWORD"), cacheSeconds: 300)
            .ToDictionary(s => s.Key, s => s.Value ?? "");
        settings["Logging:LogLevel:Default"] = "Trace";
        settings["Logging:LogLevel:Orleans"] = "Warning";
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug";
        settings["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace";
        settings["Logging:Console:FormatterName"] = "json";
        settings["Logging:Console:FormatterOptions:IncludeScopes"] = "true";
        await using var service = await ServiceProcess.StartAsync(Path.Combine(data.Path, "data"), settings);
        var token = await keystone.Api.TokenAsync(keystone.MemberA);
        var refused = $"gAAAAAB-refused-{Guid.NewGuid():N}";

        Expect.Status(await Send(service, token.Value, "/v2/images", null), 200);
        Expect.Error(await Send(service, refused, "/v2/images", null), 401);
        var requestId = $"req-{Guid.NewGuid()}";
        Expect.Error(await Send(service, token.Value, $"/v2/images/{Guid.NewGuid()}", requestId), 404);

        // The error middleware's line of the 404, in the request's scope.
        JsonElement? line = null;
        Assert.True(await ImageBytes.EventuallyAsync(() =>
        {
            // Nullable, so that "none yet" is null rather than an undefined element.
            line = Lines(service.RecentLog).Cast<JsonElement?>().FirstOrDefault(l => l!.Value.GetRawText().Contains(requestId, StringComparison.Ordinal)
                && l.Value.GetProperty("Message").GetString()!.Contains("answered 404", StringComparison.Ordinal));
            return Task.FromResult(line is not null);
        }), $"no log line of the 404 with its request id:\n{service.RecentLog}");
        var scope = line!.Value.GetProperty("Scopes").EnumerateArray().Single(s => s.TryGetProperty("OpenStackRequestId", out _));
        Assert.Equal(requestId, scope.GetProperty("OpenStackRequestId").GetString());
        Assert.Equal(keystone.MemberA.ProjectId, scope.GetProperty("Project").GetString());

        var log = service.RecentLog;
        // The service's calls to Keystone were logged (so the tokens went past the loggers)...
        Assert.Contains("System.Net.Http.HttpClient", log);
        // ... and no token value is in any line.
        Assert.DoesNotContain(token.Value, log);
        Assert.DoesNotContain(refused, log);
    }

    private static async Task<ApiResponse> Send(ServiceProcess service, string token, string path, string? requestId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("X-Auth-Token", token);
        if (requestId is not null)
        {
            request.Headers.TryAddWithoutValidation("x-openstack-request-id", requestId);
        }
        using var response = await service.Http.SendAsync(request);
        return new ApiResponse(response, await response.Content.ReadAsStringAsync());
    }

    private static IEnumerable<JsonElement> Lines(string log)
    {
        foreach (var text in log.Split('\n'))
        {
            if (text.StartsWith('{'))
            {
                JsonElement? parsed = null;
                try
                {
                    parsed = JsonDocument.Parse(text).RootElement;
                }
                catch (JsonException)
                {
                    // A line cut by the buffer.
                }
                if (parsed is { } element)
                {
                    yield return element;
                }
            }
        }
    }
}
