using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Server templates over HTTP (issue 12): wire shapes, lists, patch, versions, members, render, errors.</summary>
[Collection(ApiCollection.Name)]
public sealed class TemplatesHttpTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    private static Persona NewPersona(string label = "tp") => new(GlanceClient.Unique(label), "member", $"user-{label}");

    private async Task<string> ActiveImageAsync(Persona owner, Dictionary<string, object?>? attributes = null)
    {
        var id = await _api.CreateUploadableAsync(owner, attributes);
        await _api.UploadOkAsync(id, owner, ImageBytes.Bytes(16));
        return id;
    }

    private static object VersionBody(string imageId, string? body = null) => new
    {
        image = new { id = imageId },
        requirements = new { min_ram = 2048, min_disk = 20, architecture = "x86_64", properties = new { hw_disk_bus = "virtio" } },
        parameters = new Dictionary<string, object>
        {
            ["admin_email"] = new { type = "string", label = "Admin e-mail", constraints = new object[] { new { allowed_pattern = "^[^@]+@[^@]+$", description = "an e-mail address" } } },
            ["db_password"] = new { type = "string", hidden = true, constraints = new object[] { new { length = new { min = 12 } } } },
            ["php_workers"] = new { type = "integer", @default = 4, constraints = new object[] { new { range = new { min = 1, max = 64 } } } },
            ["site_names"] = new { type = "comma_delimited_list", @default = "example.org" },
        },
        parameter_groups = new object[] { new { label = "Database", parameters = new[] { "db_password" } } },
        configuration = new { format = "cloud-config", template = body ?? "#cloud-config\nwrite_files:\n  - path: /etc/wp/admin\n    content: {{ parameters.admin_email }}\n  - path: /etc/wp/db\n    content: {{ parameters.db_password }}\n" },
        outputs = new { admin = new { value = "{{ parameters.admin_email }}", description = "the admin" }, db = new { value = "{{ parameters.db_password }}" } },
        metadata = new { author = "me", license = "MIT", homepage = "https://example.org" },
    };

    private async Task<JsonElement> CreateAsync(Persona owner, object version, string visibility = "private", string[]? tags = null, string? name = null)
    {
        var response = Expect.Status(await _api.PostJsonAsync("/v2/templates", owner, GlanceClient.Json(new
        {
            name = name ?? GlanceClient.Unique("wp"), description = "WordPress", visibility, tags = tags ?? ["web"], version,
        })), 201);
        return response.Json;
    }

    private async Task<string> WordPressAsync(Persona owner, string visibility = "private", string[]? tags = null)
    {
        var image = await ActiveImageAsync(owner, new() { ["architecture"] = "x86_64", ["hw_disk_bus"] = "virtio", ["min_ram"] = 4096 });
        return Expect.Str(await CreateAsync(owner, VersionBody(image), visibility, tags), "id");
    }

    [Fact]
    public async Task Create_answers_201_with_location_and_the_issue_wire_shape()
    {
        var owner = NewPersona();
        var image = await ActiveImageAsync(owner);
        var response = Expect.Status(await _api.PostJsonAsync("/v2/templates", owner, GlanceClient.Json(new
        {
            name = "wordpress", description = "...", visibility = "private", tags = new[] { "web" }, version = VersionBody(image),
        })), 201);
        Expect.RequestId(response);
        var t = response.Json;
        var id = Expect.Str(t, "id");
        Assert.EndsWith($"/v2/templates/{id}", response.Header("Location"));
        Assert.Equal(["id", "name", "description", "visibility", "tags", "owner", "protected", "default_version", "latest_version", "created_at", "updated_at", "self", "version"],
            t.EnumerateObject().Select(p => p.Name));
        Assert.Equal(owner.Project, Expect.Str(t, "owner"));
        Assert.Equal(1, t.GetProperty("default_version").GetInt32());
        Assert.Equal(1, t.GetProperty("latest_version").GetInt32());
        Assert.Equal($"/v2/templates/{id}", Expect.Str(t, "self"));
        var version = t.GetProperty("version");
        Assert.Equal(1, version.GetProperty("number").GetInt32());
        Assert.Equal(image, version.GetProperty("image").GetProperty("id").GetString());
        Assert.True(version.GetProperty("parameters").GetProperty("db_password").GetProperty("hidden").GetBoolean());
        Assert.Equal("cloud-config", version.GetProperty("configuration").GetProperty("format").GetString());
        Assert.Equal("MIT", version.GetProperty("metadata").GetProperty("license").GetString());
        var shown = Expect.Status(await _api.GetAsync($"/v2/templates/{id}", owner), 200).Json;
        Assert.Equal(t.ToString(), shown.ToString());
    }

    [Fact]
    public async Task Bad_creates_are_400_in_glance_error_shape()
    {
        var owner = NewPersona();
        var image = Guid.NewGuid().ToString();
        Expect.Error(await _api.PostJsonAsync("/v2/templates", owner, "{"), 400);
        Expect.Error(await _api.PostJsonAsync("/v2/templates", owner, "[]"), 400);
        Expect.Error(await _api.PostJsonAsync("/v2/templates", owner, GlanceClient.Json(new { name = "x" })), 400);
        Expect.Error(await _api.PostJsonAsync("/v2/templates", owner, GlanceClient.Json(new { name = "x", version = VersionBody(image), owner = "me" })), 400);
        Expect.Error(await _api.PostJsonAsync("/v2/templates", owner, GlanceClient.Json(new { name = "x", visibility = "everyone", version = VersionBody(image) })), 400);
        var hidden = Expect.Error(await _api.PostJsonAsync("/v2/templates", owner, GlanceClient.Json(new
        {
            name = "x",
            version = new { image = new { id = image }, parameters = new { pw = new { type = "string", hidden = true, @default = "s3cret" } }, configuration = new { format = "cloud-config", template = "#cloud-config\n" } },
        })), 400);
        Assert.Contains("pw", hidden.Text);
        Expect.Error(await _api.PostJsonAsync("/v2/templates", owner, new string(' ', 1 << 20) + "{}"), 413);
        Expect.Error(await _api.GetAsync("/v2/templates/not-a-uuid", owner), 404);
        Expect.Error(await _api.GetAsync($"/v2/templates/{Guid.NewGuid()}", owner), 404);
    }

    [Fact]
    public async Task Lists_filter_sort_and_page_like_images()
    {
        var owner = NewPersona();
        var tag = GlanceClient.Unique("tag");
        var image = await ActiveImageAsync(owner);
        var names = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            names.Add(Expect.Str(await CreateAsync(owner, VersionBody(i == 1 ? image : Guid.NewGuid().ToString()), tags: [tag], name: $"n{i}-{tag}"), "name"));
        }
        var page = Expect.Status(await _api.GetAsync($"/v2/templates?tag={tag}&sort_key=name&sort_dir=asc&limit=2", owner), 200).Json;
        Assert.Equal(names[..2], page.GetProperty("templates").EnumerateArray().Select(t => Expect.Str(t, "name")));
        Assert.False(page.GetProperty("templates")[0].TryGetProperty("version", out _));
        Assert.Equal($"/v2/templates?tag={tag}&sort_key=name&sort_dir=asc&limit=2", Expect.Str(page, "first"));
        var next = Expect.Str(page, "next");
        var rest = Expect.Status(await _api.GetAsync(next, owner), 200).Json;
        Assert.Equal(names[2..], rest.GetProperty("templates").EnumerateArray().Select(t => Expect.Str(t, "name")));
        Assert.False(rest.TryGetProperty("next", out _));
        Assert.Equal(names[1], Expect.Str(Assert.Single(Expect.Status(await _api.GetAsync($"/v2/templates?image_id={image}", owner), 200).Json.GetProperty("templates").EnumerateArray()), "name"));
        Assert.Single(Expect.Status(await _api.GetAsync($"/v2/templates?name={names[0]}", owner), 200).Json.GetProperty("templates").EnumerateArray());
        Assert.Equal(3, Expect.Status(await _api.GetAsync($"/v2/templates?owner={owner.Project}&visibility=private", owner), 200).Json.GetProperty("templates").GetArrayLength());
        Assert.Empty(Expect.Status(await _api.GetAsync($"/v2/templates?tag={tag}", NewPersona()), 200).Json.GetProperty("templates").EnumerateArray());
        Expect.Error(await _api.GetAsync("/v2/templates?sort_key=size", owner), 400);
        Expect.Error(await _api.GetAsync("/v2/templates?limit=-1", owner), 400);
        Expect.Error(await _api.GetAsync("/v2/templates?flavor=x", owner), 400);
        Expect.Error(await _api.GetAsync($"/v2/templates?marker={Guid.NewGuid()}", owner), 400);
    }

    [Fact]
    public async Task Shipped_examples_are_listed_and_render()
    {
        var user = NewPersona();
        var listed = Expect.Status(await _api.GetAsync("/v2/templates?tag=example&sort_key=name&sort_dir=asc", user), 200).Json.GetProperty("templates");
        Assert.Equal(["nftables-firewall", "wireguard-vpn", "wordpress-mariadb"], listed.EnumerateArray().Select(t => Expect.Str(t, "name")));
        Assert.All(listed.EnumerateArray(), t => Assert.Equal("public", Expect.Str(t, "visibility")));
        var nftables = Expect.Str(listed[0], "id");
        Expect.Error(await _api.DeleteAsync($"/v2/templates/{nftables}", user), 403);
        Expect.Error(await _api.PostJsonAsync($"/v2/templates/{nftables}/render", user, "{}"), 409); // no debian image yet
        await ActiveImageAsync(user, new() { ["os_distro"] = "debian" });
        var rendered = Expect.Status(await _api.PostJsonAsync($"/v2/templates/{nftables}/render", user, GlanceClient.Json(new { parameters = new { tcp_ports = "22" } })), 200).Json;
        Assert.Contains("tcp dport { 22 } accept", Expect.Str(rendered, "user_data"));
        Assert.Equal("22", rendered.GetProperty("outputs").GetProperty("open_ports").GetString());
    }

    [Fact]
    public async Task Patch_changes_attributes_and_refuses_read_only_ones()
    {
        var owner = NewPersona();
        var id = Expect.Str(await CreateAsync(owner, VersionBody(Guid.NewGuid().ToString())), "id");
        var patched = Expect.Status(await _api.PatchAsync($"/v2/templates/{id}", owner, GlanceClient.Json(new object[]
        {
            new { op = "replace", path = "/name", value = "renamed" },
            new { op = "replace", path = "/tags", value = new[] { "a", "b" } },
            new { op = "replace", path = "/visibility", value = "shared" },
            new { op = "replace", path = "/protected", value = true },
            new { op = "remove", path = "/description" },
        }), "application/json-patch+json"), 200).Json;
        Assert.Equal("renamed", Expect.Str(patched, "name"));
        Assert.Equal(["a", "b"], Expect.Tags(patched));
        Assert.Equal("shared", Expect.Str(patched, "visibility"));
        Assert.True(patched.GetProperty("protected").GetBoolean());
        Assert.Equal(JsonValueKind.Null, patched.GetProperty("description").ValueKind);
        Expect.Error(await _api.PatchAsync($"/v2/templates/{id}", owner, GlanceClient.Json(new[] { new { op = "replace", path = "/owner", value = "me" } })), 403);
        Expect.Error(await _api.PatchAsync($"/v2/templates/{id}", owner, GlanceClient.Json(new[] { new { op = "replace", path = "/default_version", value = 9 } })), 400);
        Expect.Error(await _api.PatchAsync($"/v2/templates/{id}", owner, "[]", "application/json"), 415);
        Expect.Error(await _api.PatchAsync($"/v2/templates/{id}", NewPersona(), GlanceClient.Json(new[] { new { op = "replace", path = "/name", value = "x" } })), 404);
        Expect.Error(await _api.DeleteAsync($"/v2/templates/{id}", owner), 403);
        Expect.Status(await _api.PatchAsync($"/v2/templates/{id}", owner, GlanceClient.Json(new[] { new { op = "replace", path = "/protected", value = false } })), 200);
        Expect.Status(await _api.DeleteAsync($"/v2/templates/{id}", owner), 204);
        Expect.Error(await _api.GetAsync($"/v2/templates/{id}", owner), 404);
    }

    [Fact]
    public async Task Versions_are_created_listed_shown_and_the_default_cannot_be_deleted()
    {
        var owner = NewPersona();
        var image = await ActiveImageAsync(owner);
        var id = Expect.Str(await CreateAsync(owner, VersionBody(image)), "id");
        var created = Expect.Status(await _api.PostJsonAsync($"/v2/templates/{id}/versions", owner, GlanceClient.Json(new
        {
            based_on = 1,
            requirements = new { },
            parameters = new { },
            parameter_groups = Array.Empty<object>(),
            outputs = new { },
            configuration = new { format = "cloud-config", template = "#cloud-config\nhostname: v{{ template.version }}\n" },
        })), 201);
        Assert.EndsWith($"/v2/templates/{id}/versions/2", created.Header("Location"));
        Assert.Equal(2, created.Json.GetProperty("number").GetInt32());
        Assert.Equal(1, created.Json.GetProperty("based_on").GetInt32());
        Assert.Equal(image, created.Json.GetProperty("image").GetProperty("id").GetString());
        var versions = Expect.Status(await _api.GetAsync($"/v2/templates/{id}/versions", owner), 200).Json.GetProperty("versions");
        Assert.Equal([1, 2], versions.EnumerateArray().Select(v => v.GetProperty("number").GetInt32()));
        Assert.Equal(2, Expect.Status(await _api.GetAsync($"/v2/templates/{id}/versions/$latest", owner), 200).Json.GetProperty("number").GetInt32());
        Assert.Equal(1, Expect.Status(await _api.GetAsync($"/v2/templates/{id}/versions/$default", owner), 200).Json.GetProperty("number").GetInt32());
        Assert.Equal(2, Expect.Status(await _api.GetAsync($"/v2/templates/{id}", owner), 200).Json.GetProperty("latest_version").GetInt32());
        Expect.Error(await _api.DeleteAsync($"/v2/templates/{id}/versions/1", owner), 409);
        Expect.Error(await _api.GetAsync($"/v2/templates/{id}/versions/7", owner), 404);
        Expect.Error(await _api.PostJsonAsync($"/v2/templates/{id}/versions", owner, GlanceClient.Json(new { based_on = 1, flavor = 1 })), 400);
        Expect.Error(await _api.PostJsonAsync($"/v2/templates/{id}/versions", NewPersona(), GlanceClient.Json(new { based_on = 1 })), 404);
        var render = Expect.Status(await _api.PostJsonAsync($"/v2/templates/{id}/render", owner, GlanceClient.Json(new { version = "$latest" })), 200).Json;
        Assert.Equal("#cloud-config\nhostname: v2\n", Expect.Str(render, "user_data"));
        Expect.Status(await _api.DeleteAsync($"/v2/templates/{id}/versions/2", owner), 204);
        Expect.Error(await _api.GetAsync($"/v2/templates/{id}/versions/2", owner), 404);
    }

    [Fact]
    public async Task Render_answers_user_data_outputs_and_effective_requirements()
    {
        var owner = NewPersona();
        var id = await WordPressAsync(owner);
        var response = Expect.Status(await _api.PostJsonAsync($"/v2/templates/{id}/render", owner, GlanceClient.Json(new
        {
            version = 1,
            parameters = new { admin_email = "x\nruncmd: [reboot]@b", db_password = "0123456789012" },
        })), 200);
        var r = response.Json;
        Assert.Equal(["template_id", "version", "image_id", "user_data", "outputs", "requirements"], r.EnumerateObject().Select(p => p.Name));
        var userData = Expect.Str(r, "user_data");
        Assert.Contains("content: \"x\\nruncmd: [reboot]@b\"", userData);
        Assert.Contains("content: \"0123456789012\"", userData); // a string of digits stays a string
        Assert.DoesNotContain("\nruncmd", userData);
        Assert.Equal("x\nruncmd: [reboot]@b", r.GetProperty("outputs").GetProperty("admin").GetString());
        Assert.Equal("******", r.GetProperty("outputs").GetProperty("db").GetString());
        var requirements = r.GetProperty("requirements");
        Assert.Equal(4096, requirements.GetProperty("min_ram").GetInt64()); // the image's, larger
        Assert.Equal(20, requirements.GetProperty("min_disk").GetInt64()); // the template's, larger
        Assert.Equal("x86_64", requirements.GetProperty("architecture").GetString());
        // The hidden value is in user_data only: nowhere in the template's other answers.
        foreach (var path in new[] { $"/v2/templates/{id}", $"/v2/templates/{id}/versions", "/v2/templates" })
        {
            Assert.DoesNotContain("0123456789012", Expect.Status(await _api.GetAsync(path, owner), 200).Text);
        }
    }

    [Theory]
    [InlineData("""{"parameters": {"admin_email": "nope", "db_password": "0123456789012"}}""", 400, "admin_email")]
    [InlineData("""{"parameters": {"admin_email": "a@b", "db_password": "short"}}""", 400, "db_password")]
    [InlineData("""{"parameters": {"admin_email": "a@b", "db_password": "0123456789012", "php_workers": 0}}""", 400, "php_workers")]
    [InlineData("""{"parameters": {"admin_email": "a@b", "db_password": "0123456789012", "nope": 1}}""", 400, "nope")]
    [InlineData("""{"parameters": "a=b"}""", 400, "parameters")]
    [InlineData("""{"version": true}""", 400, "version")]
    [InlineData("""{"version": "$oldest"}""", 400, "version")]
    [InlineData("""{"version": 9, "parameters": {}}""", 404, "9")]
    [InlineData("""{"flavor": 1}""", 400, "flavor")]
    public async Task Hostile_render_requests_are_refused(string body, int status, string named)
    {
        var owner = NewPersona();
        var id = await WordPressAsync(owner);
        var response = Expect.Error(await _api.PostJsonAsync($"/v2/templates/{id}/render", owner, body), status);
        Assert.Contains(named, Expect.Str(response.Json, "message"));
        Assert.DoesNotContain("short", Expect.Str(response.Json, "message"));
    }

    [Fact]
    public async Task Render_of_a_deleted_image_is_409_naming_it()
    {
        var owner = NewPersona();
        var image = await ActiveImageAsync(owner, new() { ["architecture"] = "x86_64", ["hw_disk_bus"] = "virtio" });
        var id = Expect.Str(await CreateAsync(owner, VersionBody(image)), "id");
        Expect.Status(await _api.PatchAsync($"/v2/images/{image}", owner, GlanceClient.Json(new[] { new { op = "replace", path = "/name", value = "renamed" } })), 200);
        var parameters = GlanceClient.Json(new { parameters = new { admin_email = "a@b", db_password = "0123456789012" } });
        Expect.Status(await _api.PostJsonAsync($"/v2/templates/{id}/render", owner, parameters), 200);
        Expect.Status(await _api.DeleteAsync($"/v2/images/{image}", owner), 204);
        var error = Expect.Error(await _api.PostJsonAsync($"/v2/templates/{id}/render", owner, parameters), 409);
        Assert.Contains(image, Expect.Str(error.Json, "message"));
    }

    [Fact]
    public async Task Visibility_and_members_over_http()
    {
        var (p1, p2) = (NewPersona("tp1"), NewPersona("tp2"));
        var tag = GlanceClient.Unique("vis");
        var id = await WordPressAsync(p1, "shared", [tag]);
        var privateId = await WordPressAsync(p1, "private", [tag]);
        Expect.Error(await _api.GetAsync($"/v2/templates/{id}", p2), 404);
        Expect.Error(await _api.GetAsync($"/v2/templates/{privateId}", p2), 404);
        Expect.Status(await _api.GetAsync($"/v2/templates/{privateId}", Persona.Admin), 200);
        var member = Expect.Status(await _api.PostJsonAsync($"/v2/templates/{id}/members", p1, GlanceClient.Json(new { member = p2.Project })), 200).Json;
        Assert.Equal(["created_at", "template_id", "member_id", "status", "updated_at"], member.EnumerateObject().Select(p => p.Name));
        Assert.Equal("pending", Expect.Str(member, "status"));
        Expect.Error(await _api.PostJsonAsync($"/v2/templates/{id}/members", p1, GlanceClient.Json(new { member = p2.Project })), 409);
        Expect.Error(await _api.PostJsonAsync($"/v2/templates/{privateId}/members", p1, GlanceClient.Json(new { member = p2.Project })), 403);
        Expect.Status(await _api.GetAsync($"/v2/templates/{id}", p2), 200);
        Assert.Empty(Expect.Status(await _api.GetAsync($"/v2/templates?tag={tag}", p2), 200).Json.GetProperty("templates").EnumerateArray());
        Expect.Error(await _api.PutJsonAsync($"/v2/templates/{id}/members/{p2.Project}", p1, GlanceClient.Json(new { status = "accepted" })), 403);
        Expect.Status(await _api.PutJsonAsync($"/v2/templates/{id}/members/{p2.Project}", p2, GlanceClient.Json(new { status = "accepted" })), 200);
        Assert.Single(Expect.Status(await _api.GetAsync($"/v2/templates?tag={tag}", p2), 200).Json.GetProperty("templates").EnumerateArray());
        Assert.Single(Expect.Status(await _api.GetAsync($"/v2/templates/{id}/members", p1), 200).Json.GetProperty("members").EnumerateArray());
        Expect.Status(await _api.GetAsync($"/v2/templates/{id}/members/{p2.Project}", p2), 200);
        Expect.Error(await _api.PatchAsync($"/v2/templates/{id}", p2, GlanceClient.Json(new[] { new { op = "replace", path = "/name", value = "x" } })), 403);
        // A member renders with its own view of the image: p1's private image is not visible to p2.
        Expect.Error(await _api.PostJsonAsync($"/v2/templates/{id}/render", p2, GlanceClient.Json(new { parameters = new { admin_email = "a@b", db_password = "0123456789012" } })), 409);
        Expect.Status(await _api.DeleteAsync($"/v2/templates/{id}/members/{p2.Project}", p1), 204);
        Expect.Error(await _api.GetAsync($"/v2/templates/{id}", p2), 404);
        Assert.Equal(2, Expect.Status(await _api.GetAsync($"/v2/templates?tag={tag}", Persona.Admin), 200).Json.GetProperty("templates").GetArrayLength());
    }
}
