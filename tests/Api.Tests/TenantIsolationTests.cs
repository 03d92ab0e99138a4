using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Tenant isolation as an existence oracle (issue 8, "Keep it proven" 2; defect 6): for every
/// image, member and property a caller may not see, every route answers exactly as it does for
/// one that never existed (a random UUID, a member never added, a property name never set):
/// same status, same message once the probed id or name is replaced by a placeholder.
/// Each family is a table; all mismatches are collected and reported together.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class TenantIsolationTests(ApiFixture fixture)
{
    // Members of the shared images besides p2, so that each member status is held by some caller.
    private static readonly Persona P3 = new("p3", "member", "user-p3");
    private static readonly Persona P4 = new("p4", "member", "user-p4");

    private readonly GlanceClient _api = fixture.Client;

    /// <summary>One request, aimed at the probed id or name.</summary>
    private sealed record Probe(string Route, Func<string, Task<ApiResponse>> Send, Func<ApiResponse, string, string>? Describe = null);

    /// <summary>Images: P1's private, shared (p2 accepted / pending / rejected), an admin's private, a deleted one.</summary>
    [Fact]
    public async Task An_image_the_caller_may_not_see_answers_as_a_random_uuid_on_every_route()
    {
        var suite = GlanceClient.Unique("iso");
        var priv = await ImageAsync(Persona.P1, "private", suite, data: true);
        var accepted = await SharedAsync(suite, ("p2", "accepted"));
        var pending = await SharedAsync(suite, ("p2", "pending"));
        var rejected = await SharedAsync(suite, ("p2", "rejected"));
        await UploadAsync(accepted);
        await UploadAsync(rejected);
        Expect.Status(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{rejected}/actions/deactivate", Persona.P1), 204);
        var adminPrivate = await ImageAsync(Persona.Admin, "private", suite, data: true);
        var deleted = await ImageAsync(Persona.P1, "private", suite, data: true);
        Expect.Status(await _api.DeleteAsync($"/v2/images/{deleted}", Persona.P1), 204);
        // Each hidden image exists for someone (no comparison passes because the setup failed):
        // its owner sees it, and p2 sees the shared ones whatever its status.
        foreach (var (id, owner) in new[] { (priv, Persona.P1), (accepted, Persona.P1), (pending, Persona.P1), (rejected, Persona.P1), (adminPrivate, Persona.Admin) })
        {
            await _api.ShowImageAsync(id, owner);
        }
        foreach (var id in new[] { accepted, pending, rejected })
        {
            await _api.ShowImageAsync(id, Persona.P2);
        }

        var hidden = new (Persona Caller, string Label, string Id)[]
        {
            (Persona.P1, "admin's private", adminPrivate), (Persona.P1, "own deleted", deleted),
            (Persona.P2, "p1's private", priv), (Persona.P2, "admin's private", adminPrivate), (Persona.P2, "p1's deleted", deleted),
            (P3, "p1's private", priv), (P3, "shared, p2 accepted", accepted), (P3, "shared, p2 pending", pending),
            (P3, "shared, p2 rejected", rejected), (P3, "admin's private", adminPrivate), (P3, "p1's deleted", deleted),
            (Persona.Admin, "p1's deleted", deleted),
        };
        var comparisons = new Comparisons();
        foreach (var (caller, label, id) in hidden)
        {
            foreach (var probe in ImageProbes(caller))
            {
                await comparisons.CompareAsync($"{caller.Project} on {label} image", probe, id, Guid.NewGuid().ToString());
            }
        }
        comparisons.AssertNone("image");
    }

    /// <summary>Members: each member of a shared image probes the others against a project never added.</summary>
    [Fact]
    public async Task A_member_the_caller_may_not_see_answers_as_a_project_never_added()
    {
        var suite = GlanceClient.Unique("iso");
        var image = await SharedAsync(suite, ("p2", "accepted"), ("p3", "pending"), ("p4", "rejected"));
        var members = new (Persona Persona, string Status)[] { (Persona.P2, "accepted"), (P3, "pending"), (P4, "rejected") };
        foreach (var (member, status) in members)
        {
            var shown = Expect.Status(await _api.GetAsync($"/v2/images/{image}/members/{member.Project}", Persona.P1), 200);
            Assert.Equal(status, Expect.Str(shown.Json, "status"));
        }

        var comparisons = new Comparisons();
        foreach (var (caller, callerStatus) in members)
        {
            foreach (var (other, otherStatus) in members.Where(m => m.Persona != caller))
            {
                foreach (var probe in MemberProbes(caller, image))
                {
                    await comparisons.CompareAsync($"{caller.Project} ({callerStatus}) on member {other.Project} ({otherStatus})",
                        probe, other.Project, GlanceClient.Unique("p-never"));
                }
            }
        }
        comparisons.AssertNone("member");
    }

    private enum Hidden { PrivateOfOwner, PrivateOfAdmin, AdminOnly }

    /// <summary>
    /// Properties: for each caller and image it sees, each property kind it may not see against a
    /// name never set. Every comparison gets a fresh hidden property, so a write that (wrongly)
    /// succeeds on one cannot change what another comparison sees.
    /// </summary>
    [Fact]
    public async Task A_property_the_caller_may_not_see_answers_as_a_name_never_set()
    {
        var suite = GlanceClient.Unique("iso");
        var groups = new List<(Persona Caller, string Visibility, Hidden Kind)>();
        foreach (var visibility in new[] { "private", "shared", "community", "public" })
        {
            // The image owner sees its own and the admin's private properties, not admin-only ones.
            groups.Add((Persona.P1, visibility, Hidden.AdminOnly));
        }
        foreach (var kind in Enum.GetValues<Hidden>())
        {
            groups.Add((Persona.P2, "shared", kind));
            groups.Add((P3, "shared", kind));
            groups.Add((P4, "shared", kind));
            groups.Add((Persona.P2, "community", kind));
            groups.Add((Persona.P2, "public", kind));
        }

        var comparisons = new Comparisons();
        foreach (var (caller, visibility, kind) in groups)
        {
            // An image per group keeps each under the property quota.
            var image = visibility switch
            {
                "shared" => await SharedAsync(suite, ("p2", "accepted"), ("p3", "pending"), ("p4", "rejected")),
                "public" => await ImageAsync(Persona.Admin, "public", suite, owner: Persona.P1.Project),
                _ => await ImageAsync(Persona.P1, visibility, suite),
            };
            var where = visibility != "shared" ? visibility
                : $"shared ({caller.Project} {(caller == Persona.P2 ? "accepted" : caller == P3 ? "pending" : caller == P4 ? "rejected" : "owner")})";
            foreach (var probe in PropertyProbes(caller, image))
            {
                var name = await HiddenPropertyAsync(image, kind);
                await comparisons.CompareAsync($"{caller.Project} on {kind} property of {where} image",
                    probe, name, "iso_never_" + Guid.NewGuid().ToString("N")[..12]);
            }
        }
        comparisons.AssertNone("property");
    }

    private IEnumerable<Probe> ImageProbes(Persona caller)
    {
        var api = _api;
        Probe Get(string route, Func<string, string> path, Func<ApiResponse, string, string>? describe = null) =>
            new(route, id => api.GetAsync(path(id), caller), describe);
        Probe Send(string route, HttpMethod method, Func<string, string> path, Func<HttpContent?>? body = null) =>
            new(route, id => api.SendAsync(method, path(id), caller, body?.Invoke()));
        HttpContent Json(string json) => GlanceClient.Body(json, "application/json");
        HttpContent Octets() => GlanceClient.Body("data", "application/octet-stream");
        HttpContent Patch(string json) => GlanceClient.Body(json, GlanceClient.PatchV21);

        // Reads first, then writes, the delete last: a write that wrongly succeeds changes as little as possible.
        yield return Get("GET image", id => $"/v2/images/{id}");
        yield return Get("GET members", id => $"/v2/images/{id}/members");
        yield return Get("GET member p2", id => $"/v2/images/{id}/members/p2");
        yield return Get($"GET member {caller.Project}", id => $"/v2/images/{id}/members/{caller.Project}");
        yield return Get("GET file", id => $"/v2/images/{id}/file");
        yield return Send("HEAD file", HttpMethod.Head, id => $"/v2/images/{id}/file");
        yield return Get("GET tasks", id => $"/v2/images/{id}/tasks");
        yield return Get("GET properties", id => $"/v2/images/{id}/properties");
        yield return Get("GET property iso_public", id => $"/v2/images/{id}/properties/iso_public");
        yield return Get("GET /v2/images?marker=", id => $"/v2/images?marker={id}");
        yield return Get("GET /v2/images?id=", id => $"/v2/images?id={id}&visibility=all&member_status=all", ListedIds);
        yield return Send("PATCH image", HttpMethod.Patch, id => $"/v2/images/{id}", () => Patch("""[{"op": "replace", "path": "/name", "value": "probed"}]"""));
        yield return Send("PATCH image property", HttpMethod.Patch, id => $"/v2/images/{id}", () => Patch("""[{"op": "add", "path": "/iso_probe", "value": "x"}]"""));
        yield return Send("PUT tag", HttpMethod.Put, id => $"/v2/images/{id}/tags/iso-tag");
        yield return Send("DELETE tag", HttpMethod.Delete, id => $"/v2/images/{id}/tags/iso-tag");
        yield return Send("POST members", HttpMethod.Post, id => $"/v2/images/{id}/members", () => Json("""{"member": "p-probe"}"""));
        yield return Send($"PUT member {caller.Project}", HttpMethod.Put, id => $"/v2/images/{id}/members/{caller.Project}", () => Json("""{"status": "accepted"}"""));
        yield return Send("PUT member p2", HttpMethod.Put, id => $"/v2/images/{id}/members/p2", () => Json("""{"status": "rejected"}"""));
        yield return Send("DELETE member p2", HttpMethod.Delete, id => $"/v2/images/{id}/members/p2");
        yield return Send("PUT property", HttpMethod.Put, id => $"/v2/images/{id}/properties/iso_public", () => Json("""{"value": "x"}"""));
        yield return Send("DELETE property", HttpMethod.Delete, id => $"/v2/images/{id}/properties/iso_public");
        yield return Send("PUT file", HttpMethod.Put, id => $"/v2/images/{id}/file", Octets);
        yield return Send("PUT stage", HttpMethod.Put, id => $"/v2/images/{id}/stage", Octets);
        yield return Send("POST import glance-direct", HttpMethod.Post, id => $"/v2/images/{id}/import", () => Json("""{"method": {"name": "glance-direct"}}"""));
        yield return Send("POST import web-download", HttpMethod.Post, id => $"/v2/images/{id}/import",
            () => Json("""{"method": {"name": "web-download", "uri": "http://127.0.0.1:9/none"}}"""));
        yield return Send("POST deactivate", HttpMethod.Post, id => $"/v2/images/{id}/actions/deactivate");
        yield return Send("POST reactivate", HttpMethod.Post, id => $"/v2/images/{id}/actions/reactivate");
        yield return Send("DELETE image", HttpMethod.Delete, id => $"/v2/images/{id}");
    }

    private IEnumerable<Probe> MemberProbes(Persona caller, string image)
    {
        var api = _api;
        var path = $"/v2/images/{image}/members";
        yield return new("GET members (mentions it?)", _ => api.GetAsync(path, caller), Mentions);
        yield return new("GET member", member => api.GetAsync($"{path}/{member}", caller));
        foreach (var status in new[] { "accepted", "rejected", "pending" })
        {
            yield return new($"PUT member status {status}", member => api.PutJsonAsync($"{path}/{member}", caller, GlanceClient.Json(new { status })));
        }
        yield return new("POST members", member => api.PostJsonAsync(path, caller, GlanceClient.Json(new { member })));
        yield return new("DELETE member", member => api.DeleteAsync($"{path}/{member}", caller));
    }

    private IEnumerable<Probe> PropertyProbes(Persona caller, string image)
    {
        var api = _api;
        var root = $"/v2/images/{image}/properties";
        var listed = $"/v2/images?id={image}&visibility=all&member_status=all";
        Task<ApiResponse> Patch(string op, string name, string? value) => api.PatchAsync($"/v2/images/{image}", caller,
            GlanceClient.Json(new[] { value is null ? new Dictionary<string, string> { ["op"] = op, ["path"] = "/" + name }
                : new Dictionary<string, string> { ["op"] = op, ["path"] = "/" + name, ["value"] = value } }));
        Task<ApiResponse> Put(string name, string json, string? ifMatch = null) => api.SendAsync(HttpMethod.Put, $"{root}/{name}", caller,
            GlanceClient.Body(json, "application/json"), ifMatch is null ? null : new Dictionary<string, string> { ["If-Match"] = ifMatch });

        // Reads.
        yield return new("GET property", name => api.GetAsync($"{root}/{name}", caller));
        yield return new("GET properties (mentions it?)", _ => api.GetAsync(root, caller), Mentions);
        yield return new("GET image (mentions it?)", _ => api.GetAsync($"/v2/images/{image}", caller), Mentions);
        yield return new("GET /v2/images (mentions it?)", _ => api.GetAsync(listed, caller), Mentions);
        // A filter on a hidden property: as for an absent one (matches nothing, says nothing).
        yield return new("GET /v2/images?{name}={value}", name => api.GetAsync($"{listed}&{name}={name}-value", caller), ListedIds);
        yield return new("GET /v2/images?{name}=in:{value}", name => api.GetAsync($"{listed}&{name}=in:{name}-value,other", caller), ListedIds);
        yield return new("GET /v2/images?{name}=neq:other", name => api.GetAsync($"{listed}&{name}=neq:other", caller), ListedIds);
        // Writes that fail for a name never set.
        yield return new("DELETE property", name => api.DeleteAsync($"{root}/{name}", caller));
        yield return new("DELETE property If-Match *", name => api.SendAsync(HttpMethod.Delete, $"{root}/{name}", caller, null,
            new Dictionary<string, string> { ["If-Match"] = "*" }));
        yield return new("PATCH remove", name => Patch("remove", name, null));
        yield return new("PATCH replace", name => Patch("replace", name, "probed"));
        yield return new("PUT property If-Match \"stale\"", name => Put(name, """{"value": "probed"}""", "\"0123456789abcdef0123\""));
        yield return new("PUT property bad type", name => Put(name, """{"value": "probed", "type": "no-such-type"}"""));
        yield return new("PUT property integer 'x'", name => Put(name, """{"value": "x", "type": "integer"}"""));
        yield return new("PUT property visibility admin", name => Put(name, """{"value": "probed", "visibility": "admin"}"""));
        // Writes that succeed for a name never set.
        yield return new("PATCH add", name => Patch("add", name, "probed"));
        yield return new("PUT property", name => Put(name, """{"value": "probed"}"""));
        yield return new("PUT property visibility private", name => Put(name, """{"value": "probed", "visibility": "private"}"""));
    }

    /// <summary>Collects every comparison's mismatch; one assertion lists them all.</summary>
    private sealed class Comparisons
    {
        private readonly List<string> _mismatches = [];
        private int _count;

        public async Task CompareAsync(string thing, Probe probe, string hidden, string absent)
        {
            _count++;
            var describe = probe.Describe ?? Answer;
            var seen = describe(await probe.Send(hidden), hidden);
            var never = describe(await probe.Send(absent), absent);
            if (seen != never)
            {
                _mismatches.Add($"{thing}: {probe.Route}\n    hidden:        {seen}\n    never existed: {never}");
            }
        }

        public void AssertNone(string family) => Assert.True(_mismatches.Count == 0,
            $"{_mismatches.Count} of {_count} {family} comparisons tell a hidden {family} from one that never existed " +
            $"(probed id/name shown as {{x}}):\n{string.Join("\n", _mismatches)}");
    }

    /// <summary>Status, and for an error the message with the probed id or name replaced by {x}.</summary>
    private static string Answer(ApiResponse response, string probed)
    {
        if (response.Code < 400)
        {
            return response.Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        string message;
        try
        {
            using var document = JsonDocument.Parse(response.Text);
            message = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                    ? $"\"{m.GetString()}\""
                    : "no message: " + response.Text;
        }
        catch (JsonException)
        {
            message = "not JSON: " + response.Text;
        }
        return $"{response.Code} {Normalise(message, probed)}";
    }

    /// <summary>A list's status and ids (the ids are of the suite's images, never the probed one).</summary>
    private static string ListedIds(ApiResponse response, string probed) =>
        response.Code != 200 ? Answer(response, probed)
        : $"200 [{string.Join(", ", GlanceClient.Ids(response.Json))}]";

    /// <summary>Status, and whether the body names the probed member or property anywhere.</summary>
    private static string Mentions(ApiResponse response, string probed) =>
        $"{Answer(response, probed)}, mentions it: {response.Text.Contains(probed, StringComparison.Ordinal)}";

    private static string Normalise(string text, string probed)
    {
        text = text.Replace(probed, "{x}", StringComparison.OrdinalIgnoreCase);
        return Guid.TryParse(probed, out var id) ? text.Replace(id.ToString("N"), "{x}", StringComparison.OrdinalIgnoreCase) : text;
    }

    private async Task<string> ImageAsync(Persona creator, string visibility, string suite, string? owner = null, bool data = false)
    {
        var attributes = new Dictionary<string, object> { ["visibility"] = visibility, ["suite"] = suite, ["disk_format"] = "raw", ["container_format"] = "bare", ["tags"] = new[] { "iso-tag" } };
        if (owner is not null)
        {
            attributes["owner"] = owner;
        }
        var id = Expect.Str(await _api.CreateImageAsync(creator, attributes), "id");
        Expect.Status(await _api.PutJsonAsync($"/v2/images/{id}/properties/iso_public", creator, """{"value": "seen"}"""), 201);
        if (data)
        {
            await UploadAsync(id, creator);
        }
        return id;
    }

    /// <summary>A shared image of P1 with members at the given statuses (each set by the member itself).</summary>
    private async Task<string> SharedAsync(string suite, params (string Project, string Status)[] members)
    {
        var id = await ImageAsync(Persona.P1, "shared", suite);
        foreach (var (project, status) in members)
        {
            Expect.Status(await _api.PostJsonAsync($"/v2/images/{id}/members", Persona.P1, GlanceClient.Json(new { member = project })), 200);
            if (status != "pending")
            {
                var member = new Persona(project, "member", "user-" + project);
                Expect.Status(await _api.PutJsonAsync($"/v2/images/{id}/members/{project}", member, GlanceClient.Json(new { status })), 200);
            }
        }
        return id;
    }

    private async Task UploadAsync(string id, Persona? caller = null) =>
        Expect.Status(await _api.SendAsync(HttpMethod.Put, $"/v2/images/{id}/file", caller ?? Persona.P1,
            GlanceClient.Body("0123456789", "application/octet-stream")), 204);

    /// <summary>A new property of <paramref name="kind"/> on a P1 image; its value contains its name.</summary>
    private async Task<string> HiddenPropertyAsync(string image, Hidden kind)
    {
        var name = $"iso_{kind.ToString().ToLowerInvariant()}_{Guid.NewGuid().ToString("N")[..12]}";
        var (setter, visibility) = kind switch
        {
            Hidden.PrivateOfOwner => (Persona.P1, "private"),
            Hidden.PrivateOfAdmin => (Persona.Admin, "private"),
            _ => (Persona.Admin, "admin"),
        };
        Expect.Status(await _api.PutJsonAsync($"/v2/images/{image}/properties/{name}", setter,
            GlanceClient.Json(new { value = $"{name}-value", visibility })), 201);
        return name;
    }
}
