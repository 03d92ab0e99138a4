using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Templates;
using static Glance.Grains.Tests.Support;
using static Glance.Grains.Tests.TemplatesSupport;

namespace Glance.Grains.Tests;

/// <summary>Rendering: parameters, images, requirements, YAML safety, the sandbox, the shipped examples.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TemplatesRenderTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    private static readonly object WordPressLikeParameters = new Dictionary<string, object>
    {
        ["admin_email"] = new { type = "string", constraints = new object[] { new { allowed_pattern = "^[^@]+@[^@]+$", description = "an e-mail address" } } },
        ["db_password"] = new { type = "string", hidden = true, constraints = new object[] { new { length = new { min = 12 } } } },
        ["php_workers"] = new { type = "integer", @default = 4, constraints = new object[] { new { range = new { min = 1, max = 64 } } } },
        ["site_names"] = new { type = "comma_delimited_list", @default = "example.org" },
        ["ratio"] = new { type = "number", @default = 1.5, constraints = new object[] { new { modulo = new { step = 0.5, offset = 0 } } } },
        ["debug"] = new { type = "boolean", @default = false },
        ["extra"] = new { type = "json", @default = new { a = 1 } },
        ["flavor"] = new { type = "string", @default = "m", constraints = new object[] { new { allowed_values = new[] { "s", "m", "l" } } } },
    };

    private const string WordPressLikeBody = """
        #cloud-config
        write_files:
          - path: /etc/wp/admin
            content: {{ parameters.admin_email }}
          - path: /etc/wp/db
            content: {{ parameters.db_password }}
          - path: /etc/wp/sites
            content: {{ parameters.site_names | join: " " }}
        runcmd:
          - {{ parameters.site_names }}
          - [echo, {{ parameters.php_workers | append: "" }}, {{ parameters.php_workers | plus: 1 | append: "" }}]
        glance_test: [{{ parameters.php_workers }}, {{ parameters.debug }}, {{ parameters.flavor }}, {{ image.os_distro }}, {{ parameters.php_workers | plus: 1 }}]
        """;

    private async Task<(Caller Owner, ImageRecord Image, Guid Template)> WordPressLikeAsync(object? requirements = null, object? outputs = null)
    {
        var owner = Caller.Member(NewProject());
        var image = await _cluster.ActiveImageAsync(owner, ("name", "ubuntu-24.04"), ("os_distro", "ubuntu"), ("architecture", "x86_64"), ("min_ram", 1024));
        var template = await _cluster.CreateTemplateAsync(owner, Version(image.Id, WordPressLikeParameters, WordPressLikeBody, requirements,
            outputs ?? new { admin = new { value = "{{ parameters.admin_email }}" }, secret = new { value = "pw={{ parameters.db_password }}" } }), name: "wp");
        return (owner, image, template.Template.Id);
    }

    [Fact]
    public async Task Renders_valid_cloud_config_with_effective_requirements()
    {
        var (owner, image, id) = await WordPressLikeAsync(requirements: new { min_ram = 2048, min_disk = 20, architecture = "x86_64" });
        var result = await _cluster.RenderAsync(owner, id, new { admin_email = "me@example.org", db_password = "correct-horse-battery", site_names = "a.org, b.org" });
        Assert.Equal(image.Id, result.ImageId);
        Assert.Equal(1, result.Version);
        Assert.Contains("content: \"me@example.org\"", result.UserData);
        Assert.Contains("content: \"a.org b.org\"", result.UserData);
        // Typed values stay typed (numbers, booleans); strings, whatever they hold, are quoted.
        Assert.Contains("glance_test: [4, false, \"m\", \"ubuntu\", 5]", result.UserData);
        Assert.Contains("- [echo, \"4\", \"5\"]", result.UserData);
        Assert.Contains("- [\"a.org\", \"b.org\"]", result.UserData);
        Assert.Equal(2048, result.MinRam); // the template's, larger than the image's 1024
        Assert.Equal(20, result.MinDisk);
        Assert.Equal("me@example.org", result.Outputs["admin"]);
        await AssertValidCloudConfigAsync(result.UserData);
    }

    [Fact]
    public async Task Hidden_parameters_appear_only_in_user_data()
    {
        var (owner, _, id) = await WordPressLikeAsync();
        var result = await _cluster.RenderAsync(owner, id, new { admin_email = "me@example.org", db_password = "s3cret-s3cret-s3cret" });
        Assert.Contains("s3cret-s3cret-s3cret", result.UserData);
        Assert.Equal("pw=******", result.Outputs["secret"]);
        var error = await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.RenderAsync(owner, id, new { admin_email = "me@example.org", db_password = "short-pw" }));
        Assert.DoesNotContain("short-pw", error.Message);
        Assert.Contains("db_password", error.Message);
        Assert.DoesNotContain("s3cret", (await _cluster.Template(id).GetAsync(owner)).DefaultVersion.Json);
        // A hidden parameter may not have a default.
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateTemplateAsync(owner,
            Version(Guid.NewGuid(), new { pw = new { type = "string", hidden = true, @default = "x" } })));
    }

    [Theory]
    [InlineData("""{"admin_email": "nope", "db_password": "123456789012"}""", "admin_email", "an e-mail address")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123"}""", "db_password", "at least 12")]
    [InlineData("""{"admin_email": "a@b"}""", "db_password", "required")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "php_workers": 65}""", "php_workers", "between 1 and 64")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "php_workers": 2.5}""", "php_workers", "integer")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "php_workers": "many"}""", "php_workers", "integer")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "ratio": 1.2}""", "ratio", "multiple")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "debug": "maybe"}""", "debug", "boolean")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "extra": "not json"}""", "extra", "json")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "flavor": "xl"}""", "flavor", "allowed_values")]
    [InlineData("""{"admin_email": "a@b", "db_password": "123456789012", "unknown": 1}""", "unknown", "not a parameter")]
    [InlineData("""{"admin_email": ["a@b"], "db_password": "123456789012"}""", "admin_email", "string")]
    public async Task Invalid_parameters_are_400_naming_the_parameter_and_rule(string parameters, string name, string rule)
    {
        var (owner, _, id) = await WordPressLikeAsync();
        var error = await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Client.GetGrain<ITemplateRenderGrain>(0)
            .RenderAsync(owner, id, new RenderRequest("$default", parameters)));
        Assert.Contains(name, error.Message);
        Assert.Contains(rule, error.Message);
    }

    [Theory]
    [InlineData("x\nruncmd: [reboot]")]
    [InlineData("x\"\nruncmd: [reboot]\n#")]
    [InlineData("x'\\\n  - reboot")]
    [InlineData("}\n]\nruncmd: [reboot]")]
    [InlineData("\u2028runcmd: [reboot]\u0085\u0000")]
    [InlineData("{{ 7 | times: 6 }} {% raw %}")]
    public async Task Values_are_yaml_scalars_and_cannot_add_keys(string hostile)
    {
        var owner = Caller.Member(NewProject());
        var image = await _cluster.ActiveImageAsync(owner);
        var id = (await _cluster.CreateTemplateAsync(owner, Version(image.Id,
            new { v = new { type = "string" }, l = new { type = "comma_delimited_list", @default = "a" }, j = new { type = "json", @default = new { } } },
            "#cloud-config\nhostname: {{ parameters.v }}\nbootcmd:\n  - {{ parameters.l }}\n  - [echo, {{ parameters.v | upcase }}]\nwrite_files:\n  - path: /x\n    content: {{ parameters.j | json }}\n"))).Template.Id;
        var result = await _cluster.RenderAsync(owner, id, new { v = hostile, l = new[] { hostile, "b" }, j = new Dictionary<string, object> { [hostile] = new[] { hostile } } });
        Assert.DoesNotContain("\nruncmd", result.UserData);
        Assert.DoesNotContain("42", result.UserData); // a value is never evaluated as a template
        await AssertValidCloudConfigAsync(result.UserData);
        // And it is one key's value: hostname, bootcmd and write_files are the only top-level keys.
        var keys = result.UserData.Split('\n').Where(l => l.Length > 0 && l[0] is not (' ' or '#')).Select(l => l.Split(':')[0]).ToList();
        Assert.Equal(["hostname", "bootcmd", "write_files"], keys);
    }

    [Theory]
    [InlineData("{% for i in (1..1000000) %}{% for j in (1..1000000) %}{% endfor %}{% endfor %}", "maximum")]
    [InlineData("{% for i in (1..100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}", "65535")]
    [InlineData("{% assign s = 'ab' %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}", "longer than")]
    [InlineData("{{ parameters.v.GetType }}", "undefined")]
    [InlineData("{{ parameters.v.Length }}{{ parameters.GetType.Assembly }}", "undefined")]
    [InlineData("{{ System.Environment.MachineName }}", "undefined")]
    [InlineData("{% include 'etc/passwd' %}", "could not be rendered")]
    [InlineData("{% render 'etc/passwd' %}", "could not be rendered")]
    public async Task Hostile_templates_are_stopped_with_400(string body, string message)
    {
        var owner = Caller.Member(NewProject());
        var image = await _cluster.ActiveImageAsync(owner);
        var id = (await _cluster.CreateTemplateAsync(owner, Version(image.Id, new { v = new { type = "string", @default = "x" } }, "#cloud-config\n" + body))).Template.Id;
        var error = await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.RenderAsync(owner, id));
        Assert.Contains(message, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Deep_nesting_and_bad_syntax_are_refused_at_create()
    {
        var owner = Caller.Member(NewProject());
        var deep = "#cloud-config\n" + string.Concat(Enumerable.Repeat("{% if true %}", 2000)) + string.Concat(Enumerable.Repeat("{% endif %}", 2000));
        Assert.Contains("nests", (await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid(), body: deep)))).Message);
        var brackets = "#cloud-config\n{{ " + new string('[', 100000) + " }}";
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid(), body: brackets)));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid(), body: "#cloud-config\n{% if %}")));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid(), body: "runcmd: []")));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid(), body: "#cloud-config\n" + new string('x', 70000))));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid(),
            new { p = new { type = "string", constraints = new object[] { new { allowed_pattern = "(a)\\1" } } } })));
    }

    [Fact]
    public async Task Image_problems_are_409_naming_the_image_and_why()
    {
        var owner = Caller.Member(NewProject());
        var other = Caller.Member(NewProject());
        var queued = await _cluster.CreateAsync(owner);
        var privateImage = await _cluster.ActiveImageAsync(other);
        var missing = Guid.NewGuid();
        foreach (var (imageId, why) in new[] { (queued.Id, "queued"), (privateImage.Id, "not visible"), (missing, "not visible") })
        {
            var id = (await _cluster.CreateTemplateAsync(owner, Version(imageId))).Template.Id;
            var error = await ThrowsGlance(ErrorKind.Conflict, () => _cluster.RenderAsync(owner, id));
            Assert.Contains(imageId.ToString(), error.Message);
            Assert.Contains(why, error.Message);
        }
        var image = await _cluster.ActiveImageAsync(owner, ("architecture", "aarch64"));
        var arm = (await _cluster.CreateTemplateAsync(owner, Version(image.Id, requirements: new { architecture = "x86_64" }))).Template.Id;
        Assert.Contains("architecture", (await ThrowsGlance(ErrorKind.Conflict, () => _cluster.RenderAsync(owner, arm))).Message);
        var bus = (await _cluster.CreateTemplateAsync(owner, Version(image.Id, requirements: new { properties = new { hw_disk_bus = "virtio" } }))).Template.Id;
        Assert.Contains("hw_disk_bus", (await ThrowsGlance(ErrorKind.Conflict, () => _cluster.RenderAsync(owner, bus))).Message);
    }

    [Fact]
    public async Task A_selector_picks_the_newest_active_visible_match()
    {
        var owner = Caller.Member(NewProject());
        var distro = $"distro-{Guid.NewGuid():N}";
        var id = (await _cluster.CreateTemplateAsync(owner, SelectorVersion(new { tag = "base", os_distro = distro }))).Template.Id;
        Assert.Contains(distro, (await ThrowsGlance(ErrorKind.Conflict, () => _cluster.RenderAsync(owner, id))).Message);
        var older = await _cluster.ActiveImageAsync(owner, ("name", "older"), ("os_distro", distro), ("tags", new[] { "base" }));
        await Task.Delay(1100); // created_at has whole seconds
        var newer = await _cluster.ActiveImageAsync(owner, ("name", "newer"), ("os_distro", distro), ("tags", new[] { "base" }));
        await _cluster.CreateAsync(owner, ImageDraft.Empty.With("os_distro", distro).With("tags", new[] { "base" })); // queued: not a candidate
        await _cluster.ActiveImageAsync(Caller.Member(NewProject()), ("os_distro", distro), ("tags", new[] { "base" })); // not visible
        await _cluster.ActiveImageAsync(owner, ("os_distro", distro)); // no tag
        var result = await _cluster.RenderAsync(owner, id);
        Assert.Equal(newer.Id, result.ImageId);
        Assert.Contains("hostname: \"newer\"", result.UserData);
        await _cluster.Image(newer.Id).DeactivateAsync(owner);
        Assert.Equal(older.Id, (await _cluster.RenderAsync(owner, id)).ImageId);
    }

    [Fact]
    public async Task Renaming_an_image_keeps_the_template_deleting_it_makes_render_409()
    {
        var owner = Caller.Member(NewProject());
        var image = await _cluster.ActiveImageAsync(owner, ("name", "before"));
        var id = (await _cluster.CreateTemplateAsync(owner, Version(image.Id, body: "#cloud-config\nhostname: {{ image.name }}\n"))).Template.Id;
        await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Replace("name", "after")]);
        Assert.Contains("hostname: \"after\"", (await _cluster.RenderAsync(owner, id)).UserData);
        await _cluster.Image(image.Id).DeleteAsync(owner);
        var error = await ThrowsGlance(ErrorKind.Conflict, () => _cluster.RenderAsync(owner, id));
        Assert.Contains(image.Id.ToString(), error.Message);
    }

    [Fact]
    public async Task Versions_render_by_number_default_and_latest()
    {
        var owner = Caller.Member(NewProject());
        var image = await _cluster.ActiveImageAsync(owner);
        var template = _cluster.Template((await _cluster.CreateTemplateAsync(owner, Version(image.Id, body: "#cloud-config\nhostname: v1\n"))).Template.Id);
        await template.CreateVersionAsync(owner, Version(image.Id, body: "#cloud-config\nhostname: v{{ template.version }}\n"), null);
        Assert.Equal(1, (await _cluster.RenderAsync(owner, template.GetPrimaryKey())).Version);
        var latest = await _cluster.RenderAsync(owner, template.GetPrimaryKey(), version: "$latest");
        Assert.Equal(2, latest.Version);
        Assert.Contains("hostname: v2", latest.UserData);
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.RenderAsync(owner, template.GetPrimaryKey(), version: "7"));
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.RenderAsync(Caller.Member(NewProject()), template.GetPrimaryKey()));
    }

    [Theory]
    [InlineData("wordpress", """{"admin_email": "admin@example.org", "db_password": "correct-horse-battery", "site_names": "example.org,www.example.org"}""")]
    [InlineData("wireguard", """{"peer_public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="}""")]
    [InlineData("nftables", """{"tcp_ports": "22,443", "allow_ping": false}""")]
    public async Task Shipped_examples_render_to_valid_cloud_config(string example, string parameters)
    {
        var owner = Caller.Member(NewProject());
        await _cluster.ActiveImageAsync(owner, ("os_distro", example == "nftables" ? "debian" : "ubuntu"));
        var id = ShippedTemplates.Load(example).Id;
        var result = await _cluster.Client.GetGrain<ITemplateRenderGrain>(0).RenderAsync(owner, id, new RenderRequest("$default", parameters));
        await AssertValidCloudConfigAsync(result.UserData);
        Assert.StartsWith("#cloud-config\n", result.UserData);
    }
}
